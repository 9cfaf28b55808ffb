"""Powertools' own logger, vendored: it forwards the caller's correlation_id_path; not your code, skipped."""

import functools


class Logger:
    def set_correlation_id(self, value):
        self.correlation_id = value

    def inject_lambda_context(self, lambda_handler=None, correlation_id_path=None):
        if lambda_handler is None:
            return functools.partial(self.inject_lambda_context, correlation_id_path=correlation_id_path)
        if correlation_id_path:
            self.set_correlation_id(correlation_id_path)
        return lambda_handler

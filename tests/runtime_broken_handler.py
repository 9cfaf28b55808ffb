"""A handler module that cannot be imported: INIT must report it."""

import a_module_that_does_not_exist  # noqa: F401

"""Files that travel with the wheel (``examples/...`` force-included under ``xray_exclusive/devtools/``)."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """``xray_exclusive/devtools/{name}`` in a wheel, else ``examples/{name}`` of a source checkout.

    Example:
        >>> data_dir("browser").joinpath("sse-client.js").is_file()
        True
    """
    packaged = _HERE / name
    if packaged.is_dir():
        return packaged
    repository = _HERE.parents[2] / "examples" / name
    if repository.is_dir():
        return repository
    raise FileNotFoundError(f"examples/{name} is not installed with this copy of xray-exclusive")


def browser_client_path() -> Path:
    """The reference browser SSE client, ``sse-client.js`` (an ES module; ``docs/browser-client.md``).

    Example:
        >>> browser_client_path().read_text().count("export class TracedEventSource")
        1
    """
    return data_dir("browser") / "sse-client.js"

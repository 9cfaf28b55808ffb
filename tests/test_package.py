"""The package itself: public surface, lazy imports, the env-var table in the docs."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import xray_exclusive
from xray_exclusive import _env

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_public_names_resolve() -> None:
    for name in xray_exclusive.__all__:
        assert getattr(xray_exclusive, name) is not None
    assert set(xray_exclusive.__all__) <= set(dir(xray_exclusive))


def test_import_is_cheap_and_lazy() -> None:
    code = (
        "import sys, xray_exclusive\n"
        "heavy = [m for m in ('aws_xray_sdk', 'aws_lambda_powertools', 'opentelemetry', 'boto3', 'botocore',"
        " 'json', 'logging', 'typing') if m in sys.modules]\n"
        "from xray_exclusive import failure_path, paths\n"
        "heavy2 = [m for m in ('aws_xray_sdk', 'aws_lambda_powertools', 'opentelemetry', 'boto3', 'botocore')"
        " if m in sys.modules]\n"
        "print(heavy, heavy2)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] []"


def test_env_table_in_docs_matches_the_code() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    text = text.split("## Environment variables the library reads")[1].split("\n## ")[0]
    rows = re.findall(r"^\| `([A-Z_]+)` \|", text, flags=re.M)
    assert rows == [var.name for var in _env.ALL]
    for var in _env.ALL:
        assert var.doc.split(".")[0] in text, f"the docs row of {var.name} does not say what the code says"


def test_every_public_name_has_a_docstring_with_an_example() -> None:
    import inspect

    from xray_exclusive import bounded, check, paths, render

    missing = []
    for module in (xray_exclusive, bounded, paths, check, render):
        for name in module.__all__:
            obj = getattr(module, name)
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and "Example" not in (
                inspect.getdoc(obj) or ""
            ):
                missing.append(f"{module.__name__}.{name}")
    assert missing == []


def test_env_parsing_falls_back_with_a_warning(caplog: object) -> None:
    assert _env.POWERTOOLS_METRICS_DISABLED.get({"POWERTOOLS_METRICS_DISABLED": "perhaps"}) is False
    assert _env.POWERTOOLS_METRICS_DISABLED.get({"POWERTOOLS_METRICS_DISABLED": " Yes "}) is True
    assert _env.AWS_LAMBDA_FUNCTION_NAME.get({"AWS_LAMBDA_FUNCTION_NAME": "  "}) is None


def test_every_docs_page_is_in_the_site_navigation() -> None:
    import yaml

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())

    def pages(node: object) -> list[str]:
        if isinstance(node, str):
            return [node]
        if isinstance(node, list):
            return [p for item in node for p in pages(item)]
        if isinstance(node, dict):
            return [p for value in node.values() for p in pages(value)]
        return []

    listed = pages(config["nav"])
    assert sorted(listed) == sorted(p.name for p in (ROOT / "docs").glob("*.md"))
    assert len(listed) == len(set(listed))


def test_packaging_metadata_is_complete_and_written_once() -> None:
    """A license file, the project's URLs, one version, the docs' config in the sdist."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert (ROOT / "LICENSE").read_text().startswith("MIT No Attribution")
    assert project["project"]["license"] == "MIT-0"
    assert project["project"]["license-files"] == ["LICENSE"]
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["hatch"]["version"]["path"] == "src/xray_exclusive/__init__.py"
    assert re.fullmatch(r"\d+\.\d+\.\d+", xray_exclusive.__version__)
    assert {"Homepage", "Source", "Issues", "Documentation", "Changelog"} <= set(project["project"]["urls"])
    sdist = project["tool"]["hatch"]["build"]["targets"]["sdist"]["include"]
    assert {"mkdocs.yml", "LICENSE", "collector", "scripts"} <= set(sdist)


def test_readme_links_work_on_the_package_index() -> None:
    """PyPI renders the README without the repository beside it: every link is absolute."""
    links = re.findall(r"\]\(([^)\s]+)\)", (ROOT / "README.md").read_text())
    assert links
    relative = [link for link in links if not re.match(r"https?://|#", link)]
    assert relative == []

"""Write environment.yml and binder/environment.yml from pyproject.toml and requirements/lock.txt.

Run after changing dependencies: ``python requirements/render_envs.py`` (tests/test_environment.py
checks that the three agree).
"""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAD = """# {what}
# Versions are those of requirements/lock.txt (tests/test_environment.py checks that they agree).
name: quakelab
channels:
  - conda-forge
dependencies:
  - python=3.11
  - pip
  - pip:
"""


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def main() -> None:
    lock = {}
    for line in (ROOT / "requirements" / "lock.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            lock[norm(name)] = version
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    def names(reqs):
        return [re.split(r"[\[<>=!~ ;]", r)[0] for r in reqs if not r.startswith("quakelab")]

    def pins(reqs):
        return "\n".join(f"      - {n}=={lock[norm(n)]}" for n in names(reqs))

    def section(extra):
        return f"      # {extra} extra\n" + pins(project["optional-dependencies"][extra]) + "\n"

    core = "      # core\n" + pins(project["dependencies"]) + "\n"
    (ROOT / "environment.yml").write_text(
        HEAD.format(what="Development environment of quakelab: the package with all its extras, the test and "
                    "development tools.")
        + core + "".join(section(e) for e in ("ml", "dash", "dist", "test", "dev")) + "      - -e .\n")
    (ROOT / "binder" / "environment.yml").write_text(
        HEAD.format(what="Binder environment: quakelab's dependencies and all its extras, JupyterLab and Voila "
                    "included (postBuild installs quakelab).")
        + core + "".join(section(e) for e in ("ml", "dash", "dist")))

if __name__ == "__main__":
    main()

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

    core = pins(project["dependencies"])
    ml = pins(project["optional-dependencies"]["ml"])
    test = pins(project["optional-dependencies"]["test"])
    (ROOT / "environment.yml").write_text(
        HEAD.format(what="Development environment of quakelab: the package, its ML extras and the test tools.")
        + f"      # core\n{core}\n      # ml extras\n{ml}\n      # test extras\n{test}\n      - -e .\n")
    (ROOT / "binder" / "environment.yml").write_text(
        HEAD.format(what="Binder environment: JupyterLab with quakelab, its ML extras and Voila "
                    "(quakelab itself is installed by postBuild).")
        + f"      # core\n{core}\n      # ml extras\n{ml}\n")


if __name__ == "__main__":
    main()

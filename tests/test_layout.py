"""The layout of the grading side: sub-packages import in one direction and the sandbox's
code imports nothing of the grader (import-linter's contracts in pyproject.toml), and no
module of the course uses another module's private names."""
from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    lint = pathlib.Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "0 broken" in proc.stdout, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "3 kept" in proc.stdout


def _private_uses(path: pathlib.Path) -> list[str]:
    """``from autograde.x import _name`` and ``module._name`` where ``module`` was imported
    from the course's own packages."""
    tree = ast.parse(path.read_text())
    ours, found = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ("autograde", "solutions"):
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"{path.name}:{node.lineno} imports {node.module}.{alias.name}")
                ours.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in ("autograde", "solutions"):
                    ours.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name) and node.value.id in ours):
            found.append(f"{path.name}:{node.lineno} uses {node.value.id}.{node.attr}")
    return found


def test_no_module_uses_another_modules_private_names():
    found = [use for path in sorted((ROOT / "autograde").rglob("*.py")) for use in _private_uses(path)]
    assert found == [], found


def test_the_private_name_rule_can_fail(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from autograde.authoring import assemble\nfrom autograde.checks import _records\n"
                   "assemble._stub_positions([])\n")
    assert len(_private_uses(bad)) == 2


def test_every_option_is_declared_once_and_the_command_line_takes_its_defaults():
    import dataclasses

    from autograde.cli import _parser
    from autograde.execution.runner import RunSettings
    from autograde.settings import GradeSettings

    for f in dataclasses.fields(GradeSettings):
        assert f.metadata.get("help"), f"{f.name} has no description"
    for command in (["grade", "subs"], ["serve"]):
        given = GradeSettings.from_arguments(_parser().parse_args(command), progress=True)
        assert given == GradeSettings(), (command, given)
    parsed = GradeSettings.from_arguments(_parser().parse_args(
        ["grade", "subs", "--mem-limit", "0", "--cell-timeout", "5", "--max-output", "7", "--force"]))
    assert (parsed.mem_limit, parsed.cell_timeout, parsed.max_output_bytes, parsed.force) == (None, 5, 7, True)
    # the worker's own record starts from the same declarations
    assert dataclasses.asdict(RunSettings()) == {k: getattr(GradeSettings(), k) for k in dataclasses.asdict(RunSettings())}
    with __import__("pytest").raises(dataclasses.FrozenInstanceError):
        GradeSettings().workers = 3  # type: ignore[misc]  # one frozen object per run

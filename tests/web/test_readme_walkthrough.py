"""The README's walk-through, run top to bottom exactly as written: its shell blocks, in
order, against the four services the tests start (the one change: ``API=`` names their
port instead of ``./dev run``'s 8000), from a directory laid out like a checkout (``.venv``
and the mailer's ``.data/outbox``)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tests.support.processes import REPO
from tests.support.waiting import eventually
from tests.web.system import System

# The sections a newcomer follows, in the README's order: each one's first ```sh block.
WALK_THROUGH = (
    "## A follow-up, end to end, with curl",
    "## An agent's day with the API",
    "## The web app",
)


def readme_blocks() -> list[str]:
    text = (REPO / "README.md").read_text()
    starts = [text.index(heading) for heading in WALK_THROUGH]
    assert starts == sorted(starts), "the walk-through sections moved out of order"
    blocks = []
    for start in starts:
        match = re.compile(r"```sh\n(.*?)```", re.S).search(text, start)
        assert match is not None
        blocks.append(match.group(1))
    return blocks


def run_block(block: str, cwd: Path, system: System, database_url: str) -> str:
    script = block.replace("API=http://127.0.0.1:8000", f"API={system.url}")
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=cwd,
        env={**os.environ, "DATABASE_URL": database_url, "REALTOROS_SECRETS_DIR": "/none"},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, f"{script}\n--- out\n{done.stdout}\n--- err\n{done.stderr}"
    return done.stdout


async def test_the_readme_walk_through_runs_top_to_bottom(
    system: System, database_url: str, tmp_path: Path
) -> None:
    checkout = tmp_path / "checkout"
    (checkout / ".data").mkdir(parents=True)
    (checkout / ".venv").symlink_to(REPO / ".venv")
    system.outbox.mkdir(parents=True, exist_ok=True)
    (checkout / ".data" / "outbox").symlink_to(system.outbox)
    follow_up, day, web = readme_blocks()

    out = run_block(follow_up, checkout, system, database_url)
    assert '"status"' in out
    # The block waits 3 s for its email; under load it may take longer: wait for the .eml.
    await eventually(lambda: list(system.outbox.glob("*.eml")), timeout=60, what="the email")
    sent = next(system.outbox.glob("*.eml")).read_text()
    assert "1 Harbor Way, Salem, MA 01970" in sent  # signed, with the postal address

    out = run_block(day, checkout, system, database_url)
    assert re.search(r'"changed": ?2\b', out), out
    assert "Jordan Lee" in out

    out = run_block(web, checkout, system, database_url)
    assert "24 clients" in out

"""The platform's catalog: teams, who owns which shared resource, who read it.

One SQLite file, `<workspace>/teams/platform.db` (on either backend: it is the platform's
own record, as a central team would keep it; on SageMaker the resources themselves are in
the account). Each team also has a folder, `<workspace>/teams/<team>/`, its own workspace.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from lab.db import Database
from lab.teams._api import (
    MAX_TEAMS,
    PLATFORM,
    READ,
    AccessDeniedError,
    Ownership,
    Team,
    TeamNotFoundError,
    check_team_name,
)
from lab.workspace import Workspace

SCHEMA = """
CREATE TABLE IF NOT EXISTS teams (name TEXT PRIMARY KEY, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS owners (kind TEXT NOT NULL, resource TEXT NOT NULL,
    team TEXT NOT NULL, created REAL NOT NULL, PRIMARY KEY (kind, resource));
CREATE TABLE IF NOT EXISTS uses (kind TEXT NOT NULL, resource TEXT NOT NULL,
    team TEXT NOT NULL, action TEXT NOT NULL, count INTEGER NOT NULL, last REAL NOT NULL,
    PRIMARY KEY (kind, resource, team, action));
CREATE TABLE IF NOT EXISTS projects (team TEXT PRIMARY KEY, data TEXT NOT NULL);
"""
FOLDER = "teams"


class Catalog:
    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.root = Workspace(settings.workspace).path(FOLDER)
        self.db = Database(self.root / "platform.db", SCHEMA)

    def exists(self) -> bool:
        return self.db.path.exists()

    # Teams.
    def team_folder(self, name: str) -> Path:
        return self.root / check_team_name(name)

    def create_team(self, name: str) -> Team:
        name = check_team_name(name)
        with self.db.write() as conn:
            if conn.execute("SELECT 1 FROM teams WHERE name = ?", (name,)).fetchone():
                raise AccessDeniedError(f"There is already a team {name!r} on the platform.")
            if conn.execute("SELECT count(*) FROM teams").fetchone()[0] >= MAX_TEAMS:
                raise AccessDeniedError(f"The platform holds at most {MAX_TEAMS} teams.")
            now = time.time()
            conn.execute("INSERT INTO teams VALUES (?, ?)", (name, now))
        self.team_folder(name).mkdir(parents=True, exist_ok=True)
        return Team(name, now, self.team_folder(name))

    def team(self, name: str) -> Team:
        if name == PLATFORM:
            raise TeamNotFoundError(f"{PLATFORM!r} is the platform itself, not a team.")
        check_team_name(name)
        row = None
        if self.exists():
            with self.db.read() as conn:
                row = conn.execute("SELECT * FROM teams WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise TeamNotFoundError(f"There is no team {name!r}: create it first (teams: "
                                    f"{', '.join(t.name for t in self.teams()) or 'none yet'}).")
        return Team(row["name"], row["created"], self.team_folder(name))

    def teams(self) -> list[Team]:
        if not self.exists():
            return []
        with self.db.read() as conn:
            rows = conn.execute("SELECT * FROM teams ORDER BY created, name").fetchall()
        return [Team(r["name"], r["created"], self.root / r["name"]) for r in rows]

    # Owners.
    def owner(self, kind: str, resource: str) -> str:
        """Who owns a shared resource: its team, or the platform (the lab's own)."""
        if not self.exists():
            return PLATFORM
        with self.db.read() as conn:
            row = conn.execute("SELECT team FROM owners WHERE kind = ? AND resource = ?",
                               (kind, resource)).fetchone()
        return row["team"] if row else PLATFORM

    def claim(self, kind: str, resource: str, team: str) -> None:
        """Record `team` as the owner of a resource it creates (refused when another team
        or the platform has it)."""
        with self.db.write() as conn:
            row = conn.execute("SELECT team FROM owners WHERE kind = ? AND resource = ?",
                               (kind, resource)).fetchone()
            if row is None:
                conn.execute("INSERT INTO owners VALUES (?, ?, ?, ?)",
                             (kind, resource, team, time.time()))
            elif row["team"] != team:
                raise AccessDeniedError(denied(team, "create", kind, resource, row["team"]))

    def release(self, kind: str, resource: str) -> None:
        with self.db.write() as conn:
            conn.execute("DELETE FROM owners WHERE kind = ? AND resource = ?", (kind, resource))

    def owned(self) -> list[tuple[str, str, str]]:
        """(kind, resource, team) of every resource a team owns."""
        if not self.exists():
            return []
        with self.db.read() as conn:
            return [(r["kind"], r["resource"], r["team"]) for r in
                    conn.execute("SELECT * FROM owners ORDER BY created").fetchall()]

    # Uses.
    def record_use(self, team: str, kind: str, resource: str, action: str = READ) -> None:
        with self.db.write() as conn:
            conn.execute("INSERT INTO uses VALUES (?, ?, ?, ?, 1, ?) ON CONFLICT (kind, "
                         "resource, team, action) DO UPDATE SET count = count + 1, last = "
                         "excluded.last", (kind, resource, team, action, time.time()))

    def usage(self) -> dict[tuple[str, str], dict[str, Any]]:
        """(kind, resource) -> {"users": {team: reads}, "last": time}."""
        if not self.exists():
            return {}
        out: dict[tuple[str, str], dict[str, Any]] = {}
        with self.db.read() as conn:
            for r in conn.execute("SELECT * FROM uses WHERE action = ?", (READ,)).fetchall():
                entry = out.setdefault((r["kind"], r["resource"]), {"users": {}, "last": 0.0})
                entry["users"][r["team"]] = entry["users"].get(r["team"], 0) + r["count"]
                entry["last"] = max(entry["last"], r["last"])
        return out

    def ownership(self, platform: list[tuple[str, str]]) -> list[Ownership]:
        """Every shared resource known here, with its owner and the teams that read it:
        the teams' own, the platform's (`platform`: (kind, resource) the lab made), and any
        read by a team."""
        usage = self.usage()
        rows: dict[tuple[str, str], str] = {(k, r): PLATFORM for k, r in platform}
        rows.update({(k, r): t for k, r, t in self.owned()})
        for key in usage:
            rows.setdefault(key, PLATFORM)
        return [Ownership(kind, resource, owner, dict(usage.get((kind, resource), {}).get(
                    "users", {})), usage.get((kind, resource), {}).get("last"))
                for (kind, resource), owner in rows.items()]

    # Projects.
    def save_project(self, team: str, data: str) -> None:
        with self.db.write() as conn:
            conn.execute("INSERT OR REPLACE INTO projects VALUES (?, ?)", (team, data))

    def project_data(self, team: str) -> str | None:
        if not self.exists():
            return None
        with self.db.read() as conn:
            row = conn.execute("SELECT data FROM projects WHERE team = ?", (team,)).fetchone()
        return row["data"] if row else None


def denied(team: str, action: str, kind: str, resource: str, owner: str) -> str:
    """The refusal, in words a learner can act on."""
    whose = "the platform team" if owner == PLATFORM else f"team {owner}"
    return (f"Team {team} cannot {action} the {kind} {resource}: it belongs to {whose}. A team "
            f"reads every shared {kind} but changes only its own; ask {whose}, or make one of "
            "your own.")

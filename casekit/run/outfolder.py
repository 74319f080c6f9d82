"""One run's use of its output folder: lock, plan, staging, commit, report, manifest.

The rules (README, "Reproducibility"):

- OUT is checked before anything is created (:func:`manifest.check_out_folder`) and locked
  for the whole run (:mod:`casekit.lock`); a second command into it exits 2.
- Each notebook writes into a staging folder of its own, ``OUT/.casekit/work/<notebook>``;
  when the notebooks are done, their files are moved into OUT. A file is moved over an
  existing one only if the manifest lists that one as casekit's, with the bytes casekit
  wrote; otherwise it is left in staging and the run says so (exit 1).
- Files of the previous run that this run neither reuses nor rewrites are then removed:
  only those the manifest lists, and only when their bytes are unchanged.
- While notebooks run (and if the run is interrupted or killed), ``OUT/report.html`` is a
  short page saying so: the previous report never stands beside other results.
- The report embeds only the files of the notebooks of this run (executed or reused
  because their inputs are unchanged).
"""

from __future__ import annotations

import hashlib
import html
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import casekit
from casekit.lock import OutFolderBusy, OutLock
from casekit.outputs import write_bytes
from casekit.owned import intact_files
from casekit.run.inputs import case_hash, environment_hash, notebook_key
from casekit.run.kernel import KERNEL_ENV, signals_deferred
from casekit.run.manifest import (LOCK, STATE_DIR, WORK, Manifest, NotebookEntry,
                                  OutFolderError, check_out_folder, load_manifest,
                                  owned_file_intact, sha256_file)

REPORT = "report.html"


@dataclass
class Plan:
    to_run: list[str]
    reused: list[str]
    injected: dict[str, Any]  # the parameters every notebook gets, case_dir/out_dir included
    keys: dict[str, str] = field(default_factory=dict)


class OutFolder:
    """A checked output folder; :meth:`locked` gives the :class:`Session` of a run."""

    def __init__(self, path: Path, out_arg: str | os.PathLike, case: Path,
                 protected: list[tuple[Path, str, bool]]) -> None:
        self.path, self.out_arg, self.case, self.protected = path, out_arg, case, protected

    @classmethod
    def check(cls, out_arg: str | os.PathLike, case: Path,
              protected: Iterable[tuple[Path, str, bool]]) -> OutFolder:
        protected = list(protected)
        return cls(check_out_folder(out_arg, case, protected), out_arg, case, protected)

    @contextmanager
    def locked(self, case: Path) -> Iterator[Session]:
        self.path.mkdir(parents=True, exist_ok=True)
        lock = OutLock(self.path / LOCK, {"command": "run", "case": str(case)})
        try:
            lock.acquire()
        except OutFolderBusy as exc:
            raise OutFolderError(str(exc)) from None
        try:
            check_out_folder(self.out_arg, case, self.protected)  # again, now that we hold it
            session = Session(self.path, case, lock.previous)
            try:
                yield session
            except BaseException as exc:
                session.abort(exc)
                raise
        finally:
            lock.release()


class Session:
    def __init__(self, out: Path, case: Path, previous_holder: dict | None) -> None:
        self.out, self.case = out, case
        self.work = out / WORK
        self.notes: list[str] = []
        if previous_holder and previous_holder.get("pid"):
            self.notes.append(f"note: the run into {out} by PID {previous_holder['pid']} "
                              f"(started {previous_holder.get('started', '?')}) did not "
                              "finish; this run replaces its results")
        self.old = load_manifest(out)
        self.case_digest = case_hash(case)
        # What casekit owns in OUT right now: relative path -> sha256.
        self.owned: dict[str, str] = {}
        if self.old:
            def changed(path: Path) -> None:
                raise OutFolderError(
                    f"{path} was changed after casekit wrote it; a run never overwrites or "
                    "deletes a file it did not write, so move it out of the folder (or "
                    "choose another --out)")

            self.owned = intact_files(out, self.old.files, self.old.pending, changed)
        self.entries: dict[str, NotebookEntry] = {}  # the notebooks the report is built from
        self.carried: set[str] = set()  # of those, not executed by this run
        self.plan_: Plan | None = None
        self.manifest: Manifest | None = None

    # ------------------------------------------------------------ before running

    def _valid(self, entry: NotebookEntry | None, key: str | None) -> bool:
        return bool(entry and key and entry.key == key
                    and all(rel in self.owned for rel in entry.files))

    def plan(self, nb_dir: Path, names: list[str], params: Mapping[str, Any], *,
             subset: bool, force: bool) -> Plan:
        out, old = self.out, self.old
        if subset and old and old.notebooks and old.case_path != str(self.case):
            raise OutFolderError(
                f"{out} holds the results of another case ('{old.case_name}', "
                f"{old.case_path}); a --notebook run adds to an output folder only for the "
                "same case, so that a report never mixes two patients: run the whole "
                "collection, or choose another --out")
        injected = {"case_dir": str(self.case), "out_dir": str(out), **params}
        env = environment_hash(tuple(sorted(KERNEL_ENV.items())))
        candidates = list(names) + ([n for n in old.notebooks if n not in names]
                                    if subset and old else [])
        keys = {n: notebook_key(nb_dir / n, injected, self.case_digest, env, nb_dir)
                for n in candidates if (nb_dir / n).is_file()}
        to_run, reused = [], []
        for name in names:
            entry = old.notebooks.get(name) if old else None
            if not force and entry is not None and entry.ok and self._valid(entry,
                                                                          keys.get(name)):
                reused.append(name)
                self.entries[name] = entry
            else:
                to_run.append(name)
        for name in candidates[len(names):]:  # a subset run keeps the others if still valid
            if self._valid(old.notebooks[name], keys.get(name)):
                self.entries[name] = old.notebooks[name]
        self.carried = set(self.entries)
        for rel in [REPORT] + [f"notebooks/{name}" for name in to_run]:
            if os.path.lexists(out / rel) and rel not in self.owned:
                raise OutFolderError(f"{out / rel} exists and was not written by casekit; "
                                     "move it away or choose another --out")
        self.plan_ = Plan(to_run, reused, injected, keys)
        return self.plan_

    def stage(self, name: str) -> Path:
        return self.work / Path(name).stem

    def begin(self) -> None:
        """Write the manifest (status running) and put the 'in progress' page in place."""
        assert self.plan_ is not None
        shutil.rmtree(self.out / STATE_DIR / "work", ignore_errors=True)  # casekit's own
        for stale in (self.out / STATE_DIR).glob(".*.part"):
            stale.unlink(missing_ok=True)
        self.work.mkdir(parents=True)
        params = {k: v for k, v in self.plan_.injected.items()
                  if k not in ("case_dir", "out_dir")}
        self.manifest = Manifest(case_path=str(self.case), case_name=self.case.name,
                                 inputs_hash=self.case_digest, parameters=params,
                                 casekit_version=casekit.__version__, status="running",
                                 notebooks=dict(self.entries), files=dict(self.owned))
        self._put(REPORT, stub_page("running", self.manifest))

    # ------------------------------------------------------------ after running

    def _put(self, rel: str, data: bytes) -> None:
        """Write one owned file: recorded as pending first, so a kill in between leaves a
        manifest that still recognises the file."""
        assert self.manifest is not None
        sha = hashlib.sha256(data).hexdigest()
        self.manifest.pending[rel] = sha
        self.manifest.save(self.out)
        write_bytes(self.out / rel, data)
        self.manifest.files[rel] = sha
        del self.manifest.pending[rel]
        self.manifest.save(self.out)

    def commit(self, results: Iterable[Any]) -> list[str]:
        """Move the executed notebooks' files into OUT and remove the previous run's files
        that no notebook of this run produced. Returns the files that could not be moved."""
        assert self.manifest is not None and self.plan_ is not None
        out, real_out = self.out, Path(os.path.realpath(self.out))
        conflicts: list[str] = []
        taken = {rel: name for name in self.carried for rel in self.entries[name].files}
        moves: list[tuple[str, Path]] = []
        for result in results:
            stage = self.stage(result.name)
            files = []
            for path in _files(stage):
                rel = path.relative_to(stage).as_posix()
                target = out / rel
                if rel in taken:
                    conflicts.append(f"{result.name} wrote {rel}, as {taken[rel]} did; kept "
                                     f"the file of {taken[rel]}")
                    continue
                if os.path.lexists(target) and rel not in self.owned:
                    conflicts.append(f"{target} exists and was not written by casekit; "
                                     f"{result.name}'s file is left in {stage}")
                    continue
                if real_out not in Path(os.path.realpath(target.parent)).parents and \
                        Path(os.path.realpath(target.parent)) != real_out:
                    conflicts.append(f"{target}: its folder leads outside {out}; not written")
                    continue
                taken[rel] = result.name
                files.append(rel)
                moves.append((rel, path))
            self.entries[result.name] = NotebookEntry(self.plan_.keys.get(result.name, ""),
                                                      bool(result.ok), files)
        self.manifest.pending.update({rel: sha256_file(src) for rel, src in moves})
        self.manifest.save(out)
        for rel, src in moves:
            target = out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, target)
            self.manifest.files[rel] = self.manifest.pending.pop(rel)
        keep = set(taken) | {REPORT}
        for rel in sorted(set(self.manifest.files) - keep):
            if owned_file_intact(out, rel, self.manifest.files[rel]):
                (out / rel).unlink()
            del self.manifest.files[rel]
        self.manifest.notebooks = dict(self.entries)
        self.manifest.save(out)
        if not conflicts:
            shutil.rmtree(self.work, ignore_errors=True)
        return conflicts

    def failed_kept(self) -> set[str]:
        return {n for n in self.carried if not self.entries[n].ok}

    def selected_files(self) -> list[str]:
        return sorted({rel for entry in self.entries.values() for rel in entry.files})

    def write_report(self, failed: Iterable[str]) -> Path:
        from casekit.case import load_case
        from casekit.run.report import render_report

        assert self.manifest is not None
        provenance = {"case": self.case.name, "inputs_hash": self.case_digest,
                      "parameters": self.manifest.parameters}
        text = render_report(load_case(self.case), self.out, failed,
                             files=self.selected_files(), provenance=provenance)
        self._put(REPORT, text.encode("utf-8"))
        return self.out / REPORT

    def finish(self, ok: bool) -> None:
        assert self.manifest is not None
        self.manifest.status = "complete" if ok else "partial"
        self.manifest.save(self.out)

    def abort(self, exc: BaseException) -> None:
        """Interrupted (Ctrl-C, SIGTERM) or crashed: the report page says so, the manifest
        too; the staging folder goes. Already-committed results stay listed as casekit's."""
        if self.manifest is None or self.manifest.status in ("complete", "partial"):
            return
        with signals_deferred():
            shutil.rmtree(self.work, ignore_errors=True)
            self.manifest.status = "interrupted"
            self.manifest.notebooks = {n: e for n, e in self.manifest.notebooks.items()
                                       if all(f in self.manifest.files for f in e.files)}
            self._put(REPORT, stub_page("interrupted", self.manifest))

    def copy_figures(self, dest: Path) -> list[Path]:
        """Copy this run's figures (only those) into ``dest``."""
        return [write_bytes(dest / Path(rel).name, (self.out / rel).read_bytes())
                for rel in self.selected_files()
                if rel.startswith("figures/") and rel.count("/") == 1]


def _files(folder: Path) -> list[Path]:
    """Every regular file a notebook left in its staging folder (temporary names aside)."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        found += [Path(root) / f for f in sorted(files)
                  if not (f.startswith(".") and f.endswith(".part"))]
    return found


def stub_page(state: str, manifest: Manifest) -> bytes:
    """The page that stands in for the report while a run is under way or after it was
    interrupted: it says which run, and that there is no report of it."""
    what = {"running": "is being written by a casekit run that has not finished (or was "
                       "killed)",
            "interrupted": "belongs to a casekit run that was interrupted before it "
                           "finished"}[state]
    params = ", ".join(f"{k}={v!r}" for k, v in sorted(manifest.parameters.items())) or "none"
    body = (f"<h1>No report</h1><p>This folder {html.escape(what)}: case "
            f"&ldquo;{html.escape(manifest.case_name)}&rdquo; (inputs "
            f"{html.escape(manifest.inputs_hash[:12])}), parameters {html.escape(params)}. "
            "The files beside this page may be incomplete or from an earlier run. Run "
            "<code>casekit run</code> again to get a report.</p>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>No report: run {state}</title>\n</head>\n<body>\n{body}\n</body>\n"
            "</html>\n").encode("utf-8")

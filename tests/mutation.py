"""``make mutate``: mutation testing (mutmut 3) of the modules whose bugs lose or leak data.

Run: ``python tests/mutation.py [GROUP ...]`` (all groups by default; ``--jobs N``, ``--list``).

The one table to maintain is :data:`GROUPS` below: for each group, the functions to mutate (by
module, so a module that moves is re-pointed here and only here) and the few test files or node
ids that may kill them. Each group runs as its own mutmut session in ``.mutants/<group>/`` (a
scratch copy of ``artcli/``, ``tests/`` and ``pyproject.toml`` with the group's mutmut settings),
so each mutant runs only the tests of its group that call the mutated function (mutmut's
per-function selection), fastest first, stopping at the first failure.

Results: ``.mutants/report.md`` (per module: killed, survived, no tests, equivalent, score) and
``.mutants/survivors.txt`` (the diff of every survivor, to triage). A survivor a test could
reasonably kill gets a test; one no test can tell from the original goes into
:data:`EQUIVALENT` with the reason.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".mutants"
MUTMUT = "mutmut==3.8.1"  # and pytest-timeout==2.4.0; both installed by `make mutate`
#: the suite's servers run in pytest's process; mutmut forks it per mutant, so cloud-server
#: tests stay out (the store contract still runs on file:// and memory://); Azurite too: a
#: session fixture, so each mutant that selects an Azure test would start it again
PYTEST_ARGS = ["-m", "not slow and not s3 and not gcs and not azure", "-p", "no:cacheprovider", "-p", "no:xdist",
               # mutmut's own limit counts CPU time; a mutant that makes a test wait (a lease, a
               # lock) uses none, so a wall-clock limit per test ends it (pytest-timeout)
               "--timeout", "300"]
#: lines not mutated: what an error or a log line says is for people, not a guarantee (the error's
#: class, which sets the exit code, is; the condition that raises it is still mutated). An error is
#: raised as built by its class or by a helper, plain or dotted: ``raise IntegrityError(``,
#: ``raise _too_big(``, ``raise check.fail(`` (tests/test_mutation_settings.py checks every form)
SKIP_LINES = [r"^\s*raise [\w.]+\(", r"^\s*logger\.\w+\(", r"^\s*(res|rep|st|self)\.warnings\.append\("]


@dataclass(frozen=True)
class Group:
    """Functions to mutate, as ``{module: (function, ...)}`` — ``"*"`` for every function of the
    module, ``"name"`` for a function, ``"Class.method"`` or ``"Class.*"`` for methods — and the
    tests (files or node ids, relative to the repository) that may kill them."""

    functions: dict[str, tuple[str, ...]]
    tests: tuple[str, ...]


GROUPS: dict[str, Group] = {
    # exclusive create: the one concurrency primitive
    "store": Group({
        "artcli.store.memory": ("*",),
        "artcli.store.local": ("_tmp_name", "_write_tmp", "LocalStore.put", "LocalStore.put_if_absent",
                               "LocalStore._create_excl", "LocalStore._same_bytes", "LocalStore.get",
                               "LocalStore.delete"),
    }, ("tests/test_store_contract.py",)),
    # folds: state = fold(events); an event that breaks a rule is skipped, never half applied,
    # and no writer numbers past what readers accept (issue 23, item 4)
    "folds": Group({
        "artcli.state.fold": ("*",),
        "artcli.state.events": ("*",),
        "artcli.state.alias_book": ("_move", "AliasBook.*"),
        "artcli.state.artifact": ("*",),
    }, ("tests/test_fold_rules.py", "tests/test_event_fields.py", "tests/test_collection_rules.py",
        "tests/test_state.py", "tests/test_aliases.py", "tests/test_hostile.py::test_fold_regressions",
        "tests/test_hostile.py::test_crafted_events_are_skipped_and_never_followed",
        # the conformance cases of the event-log rules (§5); the marker, manifest and pack cases
        # test other modules, and every survivor would run them all
        *(f"tests/test_format_corpus.py::test_case[{case}]" for case in (
            "basic", "curation", "expiry-at-now", "latest-by-number", "linked-expired", "log-events",
            "log-numbers", "log-references", "registry-rules", "time-forms")))),
    # registry folds: a collection's links and their aliases
    "collections": Group({
        "artcli.state.collection": ("Link.source_json", "CollectionState.*", "_link", "apply_collection",
                                    "fold_collection", "fold_registry", "link_in"),
    }, ("tests/test_collection_rules.py", "tests/test_state.py", "tests/test_registry.py",
        "tests/test_format_corpus.py::test_case[registry-rules]")),
    # checkpoints and the event cache: a checkpoint never changes what a log means; a cached
    # event that failed validation, or a log that changed under the cache, is read again (items 2, 6)
    "checkpoints": Group({
        "artcli.checkpoints": ("*",),
        "artcli.eventlog": ("_seq_of", "_fetch_len", "_cacheable", "_parse", "EventLog._check_cached_end",
                            "EventLog._recheck_suspects", "EventLog._from_checkpoints", "EventLog._list_segments",
                            "EventLog._write_checkpoint", "EventLog.check_checkpoints"),
    }, ("tests/test_checkpoint_rules.py", "tests/test_eventlog_cache.py", "tests/test_checkpoints.py",
        "tests/test_store_identity.py",
        "tests/test_integrity.py::test_corrupt_event_is_skipped_with_warning",
        "tests/test_limits.py::test_an_oversized_event_is_fetched_only_up_to_the_limit",
        "tests/test_checkpoint_writers.py::test_threads_append_across_a_checkpoint[file]")),
    # manifest and path rules: nothing is written outside the target
    "paths": Group({
        "artcli.model": ("check_name", "check_alias", "parse_ref", "safe_relpath", "normalise_relpath",
                         "Entry.from_json"),
        "artcli.manifest": ("entry_line", "iter_lines", "content_digest", "encode", "size_limit", "compressed_limit",
                            "decompress", "decode", "_lines"),
    }, ("tests/test_model.py", "tests/test_format.py", "tests/test_integrity.py", "tests/test_limits.py",
        "tests/test_hostile.py::test_manifest_round_trip_and_hostile_shapes",
        "tests/test_hostile.py::test_hostile_path_refused_before_any_write",
        "tests/test_hostile.py::test_hostile_entry_fields_refused")),
    # hostile sizes (issue 23, item 8): every decompression and parse of a manifest bounded by
    # what its event claims; oversized events not read
    "bounds": Group({
        "artcli.manifest": ("size_limit", "compressed_limit", "decompress", "decompress_file", "decode", "_count_ok",
                            "_lines", "Streamed.*"),
        "artcli.eventlog": ("_parse",),
    }, ("tests/test_limits.py", "tests/test_format.py", "tests/test_manifest_stream.py",
        "tests/test_hostile.py::test_manifest_round_trip_and_hostile_shapes",
        "tests/test_hostile.py::test_manifest_decode_mutations")),
    # every byte verified before use; the target only ever sees complete files
    "download": Group({
        "artcli.ops.download": ("download", "_from_cache"),
        "artcli.materialise": ("LayoutCheck.*", "check_layout", "final_path", "out_of_date", "sweep_temps", "_alive",
                               "write_bytes", "copy_into_place", "TargetWriter.*"),
        "artcli.transfer": ("fetch_stored", "_fetch_loose", "_verify_file", "_fetch_packs", "_verified"),
        "artcli.cache": ("Cache.valid", "Cache.adopt", "Cache.get_packed", "Cache.put_packed"),
    }, ("tests/test_integrity.py", "tests/test_log_download.py", "tests/test_stat_cache.py",
        "tests/test_cache_packs.py", "tests/test_download_paths.py", "tests/test_download_rerun.py", "tests/test_temp_sweep.py",
        "tests/test_transfer.py", "tests/test_cache_edges.py",
        "tests/test_crashes.py::test_rerun_removes_temp_files_of_dead_processes_only",
        "tests/test_manifest_streamed.py::test_layout_check_in_manifest_order",
        "tests/test_manifest_streamed.py::test_layout_check_of_entries_in_any_order",
        "tests/test_manifest_streamed.py::test_layout_check_refuses_paths_out_of_order_or_twice",
        # download's --force, --verify, --dry-run, path filters and foreign files
        *(f"tests/test_verbs.py::{t}" for t in (
            "test_download_refuses_local_edits_unless_forced", "test_download_verify_rehashes_what_the_stat_cache_trusts",
            "test_download_into_a_folder_of_foreign_files", "test_include_exclude_on_log_files_download_diff")),
        # the download's lineage record
        "tests/test_runs.py::test_download_records_use_once_per_run",
        "tests/test_runs.py::test_a_remote_refusing_the_record_never_fails_a_download",
        # references to internal addresses: refused unless the caller opts in
        "tests/test_private_refs.py::test_internal_http_reference_is_refused_then_allowed_by_opt_in",
        "tests/test_private_refs.py::test_the_python_api_refuses_an_internal_reference_too",
        # a manifest read no further than its event's claims
        "tests/test_limits.py::test_every_reader_of_a_bomb_stops_at_the_claimed_bound")),
    # the stat cache: a changed file is always re-read
    "statcache": Group({
        "artcli.localdb": ("LocalDB.stat_lookup", "LocalDB.stat_store", "stat_key"),
        "artcli.inputs": ("hash_files", "_uncached"),
    }, ("tests/test_stat_cache.py",)),
    # gc liveness and gc's side of the leases: gc deletes only what nothing can reach
    "gc": Group({
        "artcli.leases": ("lease_live", "gc_lease", "wait_for_writers", "drop_stale_leases"),
        "artcli.ops.gc": ("_read", "_mark", "_linked", "_expire", "_mark_deleted", "_candidates", "_sweep", "gc"),
    }, ("tests/test_gc_rules.py", "tests/test_gc_reach.py", "tests/test_paused_writer.py::test_a_lease_that_lapsed_stays_lapsed",
        "tests/test_paused_writer.py::test_a_lease_lapses_by_the_wall_clock_too",
        # test_gc.py without its three slowest (concurrent writers, two gcs, an interrupted gc:
        # 27 s of the file's 75 s on a loaded machine, and every survivor runs them all)
        *(f"tests/test_gc.py::{t}" for t in (
            "test_gc_keeps_shared_and_live_removes_the_rest", "test_gc_grace_period_keeps_young_objects",
            "test_gc_expires_versions_past_their_ttl", "test_dry_run_deletes_nothing_and_lists_exactly_what_gc_deletes",
            "test_gc_keeps_what_a_registry_link_reaches", "test_gc_itself_keeps_a_linked_version_past_its_ttl",
            "test_gc_keeps_a_linked_version_past_its_ttl", "test_gc_keeps_what_a_link_to_a_deleted_version_reaches",
            "test_pack_grace_counts_its_index", "test_lease_liveness_rules",
            "test_a_heartbeat_from_the_future_is_believed_for_a_minute_at_most",
            "test_a_planted_gc_lease_from_the_future_blocks_no_writer",
            "test_gc_waits_for_a_live_writer_and_ignores_a_stale_one", "test_a_writer_waits_while_gc_runs")))),
    # a writer's side of the leases (issue 23, item 1): a writer whose lease lapsed never commits;
    # split from gc in round 5 because every log of every gc test runs them (a survivor ran all 19
    # covering tests): here only the tests about leases
    "leases": Group({
        "artcli.leases": ("_elapsed", "Lease.*", "live_leases", "_writer_lease", "LazyWriteSession.*"),
    }, ("tests/test_leases.py", "tests/test_gc_rules.py", "tests/test_paused_writer.py::test_a_lease_that_lapsed_stays_lapsed",
        "tests/test_paused_writer.py::test_a_lease_lapses_by_the_wall_clock_too",
        *(f"tests/test_gc.py::{t}" for t in (
            "test_lease_liveness_rules", "test_a_heartbeat_from_the_future_is_believed_for_a_minute_at_most",
            "test_a_planted_gc_lease_from_the_future_blocks_no_writer",
            "test_gc_waits_for_a_live_writer_and_ignores_a_stale_one", "test_a_writer_waits_while_gc_runs")))),
    # TTL: when a version expires, and that a linked one never does
    "ttl": Group({
        "artcli.ops.ttl": ("_related", "_set_ttl", "_write", "_undo_if_linked", "set_default_ttl"),
        "artcli.links": ("links_by_version", "clear_ttl_for_link"),
        "artcli.state.settings": ("fold_default_ttl", "default_ttl_was_set"),
        "artcli.durations": ("parse_expiry",),
    }, ("tests/test_ttl_rules.py", "tests/test_ttl.py", "tests/test_gc.py::test_gc_expires_versions_past_their_ttl",
        "tests/test_gc.py::test_gc_keeps_a_linked_version_past_its_ttl",
        "tests/test_gc.py::test_gc_itself_keeps_a_linked_version_past_its_ttl")),
    "packs": Group({
        "artcli.packs": ("*",),
    }, ("tests/test_format.py", "tests/test_cache_packs.py", "tests/test_hostile.py::test_pack_index_decode")),
    # no credential in an error, a run record, a config file or a log line
    "redaction": Group({
        "artcli.redact": ("*",),
    }, ("tests/test_redact.py", "tests/test_store_contract.py::test_sanitize_strips_credentials",
        "tests/test_store_contract.py::test_sanitize_strips_every_query_string",
        "tests/test_metadata.py::test_assignment_round_trip")),
}

#: mutants no test can tell from the original (same behaviour), with the reason. Names follow
#: mutmut's numbering inside a function: when a function changes, check its entries again.
_MEM = "artcli.store.memory.xǁMemoryStoreǁ"
EQUIVALENT: dict[str, str] = {
    **dict.fromkeys([f"{_MEM}__init____mutmut_2", f"{_MEM}__init____mutmut_3"],
                    "skip_instance_cache: fsspec's MemoryFileSystem keeps its objects in a class-level dict"),
    **dict.fromkeys([f"{_MEM}__init____mutmut_7", f"{_MEM}__init____mutmut_8"],
                    "open_store strips '/' from the name, and it is the only caller"),
    f"{_MEM}put_if_absent__mutmut_3": "the key only names an error, and a memory store raises none there",
    **dict.fromkeys([f"artcli.ops.gc.x__mark_deleted__mutmut_{n}" for n in (3, 4)],
                    "fold's project and name only label the state; build reads its versions"),
    **dict.fromkeys([f"artcli.ops.ttl.x__write__mutmut_{n}" for n in (5, 6)],
                    "fold's project and name only label the state; build reads its versions"),
    "artcli.ops.ttl.x__related__mutmut_33": "the dict's values are never read (it is an ordered set)",
    **dict.fromkeys([f"artcli.ops.ttl.x__undo_if_linked__mutmut_{n}" for n in (9, 10, 14, 19, 20, 23)],
                    "split or rsplit, once or more, at '/' or ':v': project and names hold neither '/' nor ':'"),
    **dict.fromkeys([f"artcli.links.x_clear_ttl_for_link__mutmut_{n}" for n in (3, 4)],
                    "fold's project and name only label the state; build reads its versions"),
    "artcli.leases.x_wait_for_writers__mutmut_12": "told None or False: both false",
    **dict.fromkeys([f"artcli.ops.gc.x__read__mutmut_{n}" for n in (7, 8)],
                    "fold's project and name only label the state; _mark takes them from its own loop"),
    "artcli.ops.gc.x__mark__mutmut_19": "'' or 'XXXX' for a version without a manifest: neither is a digest, "
                                         "both stop gc",
    "artcli.ops.gc.x__mark__mutmut_35": "the number of threads loading manifests changes speed, not results",
    # gc/paths/statcache (round 5, `mutgc`): ids as numbered on the tree of that run
    **dict.fromkeys([f"artcli.localdb.xǁLocalDBǁstat_store__mutmut_{n}" for n in (5, 11, 12, 15)]
                    + [f"artcli.localdb.xǁLocalDBǁstat_lookup__mutmut_{n}" for n in (15, 16)],
                    "SQL keywords, table and column names are case-insensitive"),
    **dict.fromkeys([f"artcli.inputs.x_hash_files__mutmut_{n}" for n in (21, 23)],
                    "the number of hashing threads changes speed, not results"),
    **dict.fromkeys([f"artcli.inputs.x_hash_files__mutmut_{n}" for n in (38, 39, 40)],
                    "how many hashing tasks are in flight changes memory and speed: every task is awaited"),
    "artcli.inputs.x_hash_files__mutmut_42": "which in-flight task is awaited first: all are awaited before returning",
    "artcli.ops.gc.x_gc__mutmut_1": "the default of dry_run: both callers (the command and the API) pass it",
    **dict.fromkeys([f"artcli.ops.gc.x_gc__mutmut_{n}" for n in (14, 16, 25)],
                    "gc's now, or the same clock read a moment later with nothing that waits in between "
                    "(ARTCLI_NOW fixes both)"),
    "artcli.ops.gc.x__sweep__mutmut_2": "the number of deleting threads changes speed, not results",
    "artcli.leases.x__writer_lease__mutmut_5": "told None or False: both false",
    **dict.fromkeys([f"artcli.leases.xǁLeaseǁstart__mutmut_{n}" for n in (3, 6)],
                    "the heartbeat thread's name is only seen in a debugger"),
    "artcli.leases.xǁLeaseǁ__init____mutmut_26": "'' or None before start(): every Lease is started as it is made "
                                                 "(Lease(...).start()), so end() never sees either",
    "artcli.manifest.x_content_digest__mutmut_8": "an entry without a pack has no offset (Entry.from_json), so "
                                                  "rebuilding it without pack fields gives the same entry",
    "artcli.manifest.x_iter_lines__mutmut_1": "no path is empty: '' sorts before every path, as no previous path does",
    "artcli.manifest.x__lines__mutmut_4": "an empty manifest has no valid header, whether its one line is '' or 'XXXX'",
    # decode and Streamed.__init__ renumbered when SKIP_LINES took in ``raise check.fail(`` (the same
    # mutations: decode 26 -> 14, __init__ 26, 27 -> 20, 21; decode's wording mutants are skipped now)
    **dict.fromkeys([f"artcli.manifest.x_decode__mutmut_{n}" for n in (2, 14)],
                    "the expected digest only names the manifest in the IntegrityError's text"),
    "artcli.manifest.x_decompress_file__mutmut_28": "reading the compressed object whole, not 1 MiB at a time: memory "
                                                    "only, and its size is bounded by compressed_limit first",
    **dict.fromkeys([f"artcli.manifest.x_decompress_file__mutmut_{n}" for n in (49, 50)],
                    "flush() returns nothing after the loop (zlib keeps unread input, not output), so the count "
                    "after it never decides"),
    "artcli.durations.x_parse_expiry__mutmut_6": "'' or 'XXXX' for no text: neither is a date",
    **dict.fromkeys([f"artcli.ops.ttl.x__set_ttl__mutmut_{n}" for n in (1, 4, 6, 53)],
                    "now, or the same process's clock read a moment later (ARTCLI_NOW fixes both)"),
    **dict.fromkeys([f"artcli.ops.ttl.x__set_ttl__mutmut_{n}" for n in (47, 48)],
                    "set_ttl resolved an existing version first, so the remote is already stamped"),
    "artcli.ops.ttl.x__set_ttl__mutmut_35": "continue or break at the root: _related never returns the root",
    **dict.fromkeys(["artcli.store.local.x__tmp_name__mutmut_7", "artcli.store.local.x__tmp_name__mutmut_8"],
                    "a temp name one character longer is as unique and as valid"),
    **dict.fromkeys(["artcli.localdb.xǁLocalDBǁstat_lookup__mutmut_7", "artcli.localdb.xǁLocalDBǁstat_lookup__mutmut_12"],
                    "overlapping lookup chunks give the same answers, with more queries"),
    "artcli.packs.xǁPackBuilderǁseal__mutmut_4": "a sealed builder is never used again; the reset only frees memory",
    # redaction (triaged 2026-11-30, issue 23): every other survivor of the group is killed by a test
    "artcli.redact.x_secret_name__mutmut_34": "a two-word name connection+string is caught by the joined-words rule "
                                              "anyway; only longer names reach this clause",
    "artcli.redact.x_find_secret__mutmut_31": "a URL without a query yields one item with an empty value, never judged",
    **dict.fromkeys([f"artcli.redact.x_redact_argv__mutmut_{n}" for n in (2, 8)],
                    "hide_next None or False: both false"),
    **dict.fromkeys([f"artcli.redact.x_redact_argv__mutmut_{n}" for n in (14, 15)],
                    "'-' and two-character options: no one-letter name is secret, both branches print them as given"),
    **dict.fromkeys([f"artcli.redact.x_redact_argv__mutmut_{n}" for n in (21, 22)],
                    "secret_name ignores dashes (words, and the bare-key check strips them)"),
    "artcli.redact.x_redact_argv__mutmut_31": "without '=' the value is empty, and an empty assignment is never redacted",
    **dict.fromkeys([f"artcli.manifest.xǁStreamedǁ__init____mutmut_{n}" for n in (20, 21)],
                    "after seeking to the last byte, read(1), read(2) and read() return that one byte"),
    **dict.fromkeys([f"artcli.manifest.xǁStreamedǁ_line__mutmut_{n}" for n in (2, 4)],
                    "reading the whole line (or one byte more) before refusing it raises the same error; only "
                    "the memory it takes differs, which no test measures in-process"),
    **dict.fromkeys([f"artcli.redact.x_redact_argv__mutmut_{n}" for n in (38, 43)],
                    "also trying '--NAME:TYPE=VALUE' as a glued assignment differs only for option names artcli "
                    "does not have (secret option names are handled before)"),
    # download (round 4, 2026-11-30)
    **dict.fromkeys([f"artcli.materialise.x_final_path__mutmut_{n}" for n in (13, 14, 18)],
                    "checked only caches verified directories: one not recorded (or a missing one, below which "
                    "nothing exists) is checked again with the same result"),
    "artcli.ops.download.x__from_cache__mutmut_1": "verify's default: the only caller always passes it",
    **dict.fromkeys(["artcli.ops.download.x__from_cache__mutmut_30", "artcli.transfer.x__fetch_loose__mutmut_1",
                     "artcli.transfer.x__fetch_packs__mutmut_30"],
                    "the number of write threads changes speed, not results"),
    "artcli.cache.xǁCacheǁget_packed__mutmut_6": "create None or False: both false",
    "artcli.materialise.x_sweep_temps__mutmut_13": "follow_symlinks None or False: both false",
    **dict.fromkeys(["artcli.cache.xǁCacheǁget_packed__mutmut_1", "artcli.cache.xǁCacheǁput_packed__mutmut_1"],
                    "an entry with a pack always has an offset (Entry.from_json): 'and' and 'or' assert the same"),
    **dict.fromkeys([f"artcli.cache.xǁCacheǁput_packed__mutmut_{n}" for n in (14, 17, 18)],
                    "local_write's 'what' only words a disk-full error and its hint"),
    **dict.fromkeys([f"artcli.transfer.x__verify_file__mutmut_{n}" for n in range(7, 15)],
                    "'truncated' or 'corrupt' only words the IntegrityError"),
    **dict.fromkeys([f"artcli.transfer.x__verify_file__mutmut_{n}" for n in (5, 6)],
                    "missing_ok: the file was stat'ed just before, so it exists"),
    **dict.fromkeys([f"artcli.transfer.x__fetch_loose__mutmut_{n}" for n in (20, 26)],
                    "the key passed to _verify_file only words its IntegrityError"),
    **dict.fromkeys([f"artcli.transfer.x__fetch_loose__mutmut_{n}" for n in (14, 27, 33, 49)],
                    "fetch_stored asserts every entry has a digest: the 'or' fallback is never used"),
    **dict.fromkeys([f"artcli.transfer.x__fetch_loose__mutmut_{n}" for n in (53, 56, 57)],
                    "zip of chunk and tmps, built from the same list: the same length, strict or not"),
    # download (round 5, mutdl, 2026-11-30)
    **dict.fromkeys([f"artcli.ops.download.x_download__mutmut_{n}" for n in (1, 2, 3, 4, 5)],
                    "a keyword's default (skip_cache, track, force, verify, dry_run): the CLI and Repo.download "
                    "both pass it"),
    **dict.fromkeys([f"artcli.ops.download.x_download__mutmut_{n}" for n in (11, 13, 14)],
                    "history only keeps past metadata and descriptions (for show): the same version resolves"),
    **dict.fromkeys([f"artcli.ops.download.x_download__mutmut_{n}" for n in (38, 51, 59)],
                    "the first pass's entries kept, or the manifest read again: the same entries"),
    **dict.fromkeys([f"artcli.ops.download.x_download__mutmut_{n}" for n in (174, 186)],
                    "fresh only skips comparing with a target that was empty: compared, every file is missing"),
    "artcli.ops.download.x_download__mutmut_156": "phase's total defaults to None, the value passed",
    **dict.fromkeys([f"artcli.ops.download.x__from_cache__mutmut_{n}" for n in (6, 29, 45)]
                    + ["artcli.materialise.xǁTargetWriterǁ__init____mutmut_12",
                       "artcli.materialise.xǁTargetWriterǁput_packed__mutmut_11"],
                    "a stored entry always has a digest (Entry.from_json): the 'or' fallback is never used"),
    **dict.fromkeys([f"artcli.materialise.xǁTargetWriterǁ{f}__mutmut_{n}"
                     for f, n in (("adopt", 3), ("adopt", 5), ("write_targets", 2), ("write_targets", 4))],
                    "every digest handed to the writer comes from the entries it was built with: paths has it"),
    "artcli.materialise.xǁTargetWriterǁtemp_path__mutmut_1": "the hint's default: every caller passes a hint",
    **dict.fromkeys([f"artcli.cache.xǁCacheǁvalid__mutmut_{n}" for n in (16, 36)],
                    "touch stats the file itself when given no stat result: the same values"),
    **dict.fromkeys([f"artcli.materialise.x_copy_into_place__mutmut_{n}" for n in (10, 13)],
                    "the source is read whole or used by its fd (clone, copy_file_range): buffering changes neither"),
    **dict.fromkeys([f"artcli.materialise.x_copy_into_place__mutmut_{n}" for n in (16, 17, 18, 19)],
                    "the size below which a file is read and written rather than cloned or copied in the kernel "
                    "changes speed, not bytes"),
    **dict.fromkeys([f"artcli.materialise.x_copy_into_place__mutmut_{n}" for n in (27, 28)],
                    "an ioctl on no such fd (EBADF) or with no such request (ENOTTY) falls back to copying: the "
                    "same bytes"),
    "artcli.transfer.x__fetch_loose__mutmut_13": "the hint only labels a temp file (the sweep's pattern takes an empty one)",
    **dict.fromkeys([f"artcli.transfer.x__fetch_loose__mutmut_{n}" for n in (44, 46)],
                    "without done a batch's blobs are handed over when it ends, not as each lands: the same results"),
    "artcli.transfer.x__fetch_packs__mutmut_8": "'' or None while the size is not asked: plan_ranges takes both as unknown",
    "artcli.transfer.x__fetch_packs__mutmut_10": "exactly 1 MiB wanted: the pack's size asked or not, one request more "
                                                 "or less, the same bytes",
    **dict.fromkeys([f"artcli.transfer.x__fetch_packs__mutmut_{n}" for n in (40, 41)],
                    "how many verified writes one task hands over changes speed, not results"),
    **dict.fromkeys([f"artcli.transfer.x__verified__mutmut_{n}" for n in (5, 8, 10)],
                    "get_ranges returns one result per range asked (the Store contract): the lists zip evenly"),
    "artcli.transfer.x__verified__mutmut_17": "the planned ranges cover every member (plan_ranges): next() always "
                                              "finds one",
    "artcli.transfer.x__verified__mutmut_27": "the planned ranges cover every member, so piece is never None; a short "
                                              "one fails the digest check anyway",
    "artcli.materialise.xǁLayoutCheckǁ__init____mutmut_2": "no manifest path is empty, so none sorts at or before ''",
    # folds/collections/checkpoints (round 5)
    "artcli.state.collection.x_apply_collection__mutmut_19": "n < top or n <= top: n == top is the last link, "
                                                             "refused as a duplicate just before",
    "artcli.state.artifact.x__created__mutmut_13": "n < top or n <= top: n == top is the last version, refused as a "
                                                   "duplicate just before",
    **dict.fromkeys([f"artcli.state.artifact.x_apply__mutmut_{n}" for n in (119, 136, 216)],
                    "not_deleted None or False: both false"),
    "artcli.state.artifact.x_resolve_in__mutmut_54": "0 < or 0 <= len(known): with no alias the listing is not used "
                                                     "(the hint says there is none)",
    "artcli.checkpoints.x_decode__mutmut_11": "inflating MAX_BYTES + 1 or + 2 bytes: either is over the limit, refused",
    "artcli.eventlog.xǁEventLogǁcheck_checkpoints__mutmut_10": "the listed size (nbytes) is not used by fsck's check",
    **dict.fromkeys([f"artcli.eventlog.xǁEventLogǁcheck_checkpoints__mutmut_{n}" for n in (28, 29)],
                    "listing one event before the range, or one past it: fetched, never compared"),
    **dict.fromkeys([f"artcli.eventlog.xǁEventLogǁcheck_checkpoints__mutmut_{n}" for n in (39, 42, 43)],
                    "zip of the listed keys and get_ranges of the same keys: the same length, strict or not"),
    **dict.fromkeys([f"artcli.eventlog.xǁEventLogǁ_from_checkpoints__mutmut_{n}" for n in (20, 23, 24)],
                    "zip of the chosen checkpoints and one blob fetched per each: the same length, strict or not"),
    "artcli.eventlog.xǁEventLogǁ_from_checkpoints__mutmut_36": "caching from `last` or after it: `last` is cached "
                                                                "already, and add_events keeps what it holds",
    "artcli.checkpoints.x_plan__mutmut_12": "a level past MAX_LEVEL finds no checkpoint the others miss (none is "
                                            "larger: parse_key refuses it)",
    "artcli.checkpoints.x_plan__mutmut_25": "count // 2 or count / 2: a checkpoint's count is a multiple of 64",
    **dict.fromkeys([f"artcli.checkpoints.x_encode__mutmut_{n}" for n in (33, 35, 36)],
                    "another gzip level or a fixed mtime of 1: other gzip bytes, still the same for every writer, "
                    "and the checkpoint is named and checked by the digest of its inflated bytes"),
    **dict.fromkeys(["artcli.eventlog.x__seq_of__mutmut_5", "artcli.eventlog.x__seq_of__mutmut_8",
                     "artcli.state.fold.x_seq_of_key__mutmut_5", "artcli.state.fold.x_seq_of_key__mutmut_8"],
                    "rsplit at every '/', at the last two or at the last one: the last part is the same"),
    **dict.fromkeys(["artcli.state.fold.x_seq_of_key__mutmut_19", "artcli.eventlog.x__seq_of__mutmut_19"],
                    "'' or 'XXXX' for a name not ending in .json: neither is digits"),
    **dict.fromkeys([f"artcli.eventlog.xǁEventLogǁ_check_cached_end__mutmut_{n}" for n in (8, 42)],
                    "_list_after(-1) or (-2): both list from the start"),
    **dict.fromkeys([f"artcli.eventlog.xǁEventLogǁ_check_cached_end__mutmut_{n}" for n in (20, 23, 27)],
                    "`last` is the highest seq cached: nothing is held after it, bounded or not"),
}

_STATUS = re.compile(r"^\s+(\S+): (.+)$")


def mutant_globs(module: str, spec: str) -> str:
    """mutmut's name for the mutants of one function spec (see :class:`Group`)."""
    if spec == "*":
        return f"{module}.*"
    if "." in spec:
        cls, meth = spec.split(".", 1)
        return f"{module}.xǁ{cls}ǁ{'*' if meth == '*' else meth + '__mutmut_*'}"
    return f"{module}.x_{spec}__mutmut_*"


def module_file(module: str) -> str:
    return module.replace(".", "/") + ".py"


def settings(group: Group) -> str:
    """The ``[tool.mutmut]`` table of one group's scratch pyproject.toml."""
    files = sorted({module_file(m) for m in group.functions})
    return ("\n[tool.mutmut]\n"
            'source_paths = ["artcli"]\n'
            f"only_mutate = {json.dumps(files)}\n"
            f"do_not_mutate_patterns = {json.dumps(SKIP_LINES)}\n"
            f"pytest_add_cli_args = {json.dumps(PYTEST_ARGS)}\n"
            f"pytest_add_cli_args_test_selection = {json.dumps(list(group.tests))}\n")


def prepare(name: str, group: Group) -> Path:
    """A fresh scratch copy for one group (mutmut writes its ``mutants/`` inside it)."""
    for module in group.functions:
        if not (ROOT / module_file(module)).is_file():
            sys.exit(f"mutation.py: {module} is not in the tree any more: re-point GROUPS[{name!r}]")
    for test in group.tests:
        if not (ROOT / test.split("::")[0]).is_file():
            sys.exit(f"mutation.py: {test} is not in the tree any more: re-point GROUPS[{name!r}]")
    work = WORK / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", ".pytest_cache", ".hypothesis")
    shutil.copytree(ROOT / "artcli", work / "artcli", ignore=ignore)
    shutil.copytree(ROOT / "tests", work / "tests", ignore=ignore)
    (work / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text() + settings(group))
    return work


def run_group(name: str, group: Group, jobs: int) -> dict[str, str]:
    """Run mutmut for one group; returns mutant name -> status for the group's functions."""
    work = prepare(name, group)
    mutmut = str(Path(sys.executable).with_name("mutmut"))
    log = work / "mutmut.log"
    started, cpu0 = time.monotonic(), _children_cpu()
    with open(log, "w") as out:
        code = subprocess.call([*guarded(mutmut), "run", "--max-children", str(jobs), *group_globs(group)], cwd=work,
                               env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "ARTCLI_TESTS_FORKED": "1"}, stdout=out,
                               stderr=subprocess.STDOUT)
    took, cpu = time.monotonic() - started, _children_cpu() - cpu0
    if code != 0:
        tail = log.read_text(errors="replace")[-3000:]
        sys.exit(f"mutation.py: mutmut failed for group {name} (exit {code}); see {log}\n{tail}")
    return collect(name, group, took, cpu)


def guarded(mutmut: str) -> list[str]:
    """The command that runs mutmut with :mod:`mutmut_guard` installed (no stray SIGXCPU for a
    reused pid), as its console script would: the script's folder first on ``sys.path``."""
    guard = Path(__file__).with_name("mutmut_guard.py")
    boot = (f"import importlib.util as u, sys; sys.path[0] = {str(Path(mutmut).parent)!r}; "
            f"s = u.spec_from_file_location('mutmut_guard', {str(guard)!r}); m = u.module_from_spec(s); "
            "s.loader.exec_module(m); m.main()")
    return [sys.executable, "-c", boot]


def group_globs(group: Group) -> list[str]:
    return [mutant_globs(m, f) for m, fs in group.functions.items() for f in fs]


def collect(name: str, group: Group, took: float | None = None, cpu: float | None = None) -> dict[str, str]:
    """Read a finished mutmut session of one group: statuses, survivors' diffs, statuses.json."""
    work = WORK / name
    mutmut = str(Path(sys.executable).with_name("mutmut"))
    globs = group_globs(group)
    listing = subprocess.run([mutmut, "results", "--all", "true"], cwd=work, capture_output=True,
                             text=True, check=True).stdout
    statuses = {}
    for line in listing.splitlines():
        m = _STATUS.match(line)
        if m and any(fnmatch.fnmatchcase(m.group(1), g) for g in globs):
            statuses[m.group(1)] = m.group(2).strip()
    survivors = [k for k, s in statuses.items() if s in ("survived", "no tests") and k not in EQUIVALENT]
    with open(work / "survivors.txt", "w") as f:
        for k in survivors:
            shown = subprocess.run([mutmut, "show", k], cwd=work, capture_output=True, text=True).stdout
            f.write(f"## {name}: {k} ({statuses[k]})\n{shown}\n")
    if took is None:  # collected after the fact: keep what an earlier collection measured
        old = saved(name) or {}
        took, cpu = 60 * old.get("minutes", 0.0), 60 * old.get("cpu_minutes", 0.0)
    (work / "statuses.json").write_text(json.dumps(
        {"minutes": round(took / 60, 1), "cpu_minutes": round((cpu or 0) / 60, 1), "statuses": statuses}, indent=1))
    print(f"{name}: {len(statuses)} mutants, {len(survivors)} to look at, {took / 60:.1f} min "
          f"({(cpu or 0) / 60:.1f} CPU min)", flush=True)
    return statuses


def _children_cpu() -> float:
    """CPU seconds (user + system) of every finished child process and its waited-for children:
    what a run costs whatever else the machine is doing."""
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def saved(name: str) -> dict[str, Any] | None:
    """A group's last run (``minutes``, ``statuses``), if it has one."""
    path = WORK / name / "statuses.json"
    return json.loads(path.read_text()) if path.is_file() else None


def module_of(mutant: str) -> str:
    return mutant.split(".x", 1)[0]


def report(results: dict[str, dict[str, str]], minutes: dict[str, float], cpu: dict[str, float]) -> str:
    """A markdown table: per group and module, what happened to its mutants."""
    rows = ["| group | module | mutants | killed | timeout | survived | no tests | equivalent | not run | score |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    total = {"n": 0, "killed": 0, "timeout": 0, "survived": 0, "no tests": 0, "equivalent": 0, "not checked": 0}
    for group, statuses in results.items():
        for module in sorted({module_of(k) for k in statuses}):
            mine = {k: s for k, s in statuses.items() if module_of(k) == module}
            c = {"n": len(mine), "equivalent": sum(k in EQUIVALENT for k in mine)}
            for s in ("killed", "timeout", "survived", "no tests", "not checked"):
                c[s] = sum(v == s and k not in EQUIVALENT for k, v in mine.items())
            c["timeout"] += sum(v == "segfault" and k not in EQUIVALENT for k, v in mine.items())  # killed by a signal
            for k in total:
                total[k] += c[k]
            rows.append(f"| {group} | `{module}` | {c['n']} | {c['killed']} | {c['timeout']} | {c['survived']} | "
                        f"{c['no tests']} | {c['equivalent']} | {c['not checked']} | {score(c)} |")
    rows.append(f"| all | | {total['n']} | {total['killed']} | {total['timeout']} | {total['survived']} | "
                f"{total['no tests']} | {total['equivalent']} | {total['not checked']} | {score(total)} |")
    took = ", ".join(f"{g} {m:.1f} ({cpu.get(g, 0):.1f})" for g, m in minutes.items())
    return ("\n".join(rows) + f"\n\nMinutes per group, wall (CPU): {took}; total {sum(minutes.values()):.1f} "
            f"({sum(cpu.values()):.1f} CPU minutes).\n")


def score(c: dict[str, int]) -> str:
    """Killed (a timeout counts: the mutant hung a test) over every mutant run that is not equivalent."""
    judged = c["n"] - c["equivalent"] - c.get("not checked", 0)
    return f"{100 * (c['killed'] + c['timeout']) / judged:.1f}%" if judged else "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("groups", nargs="*", help=f"groups to run (default: all of {', '.join(GROUPS)})")
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("MUTATE_JOBS", "2")))
    ap.add_argument("--list", action="store_true", help="print each group's mutmut settings and exit")
    ap.add_argument("--report", action="store_true", help="only rebuild the report from the groups' last runs")
    ap.add_argument("--collect", action="store_true", help="read the groups' finished mutmut sessions, run nothing")
    args = ap.parse_args()
    unknown = [g for g in args.groups if g not in GROUPS]
    if unknown:
        ap.error(f"unknown group(s) {unknown}; known: {list(GROUPS)}")
    chosen = args.groups or list(GROUPS)
    if args.list:
        for name in chosen:
            g = GROUPS[name]
            print(f"# {name}: {[mutant_globs(m, f) for m, fs in g.functions.items() for f in fs]}{settings(g)}")
        return
    WORK.mkdir(exist_ok=True)
    if args.collect:
        for name in chosen:
            collect(name, GROUPS[name])
    elif not args.report:
        for name in chosen:
            run_group(name, GROUPS[name], args.jobs)
    runs = {name: run for name in chosen if (run := saved(name)) is not None}
    results = {name: run["statuses"] for name, run in runs.items()}
    text = report(results, {name: run["minutes"] for name, run in runs.items()},
                  {name: run.get("cpu_minutes", 0.0) for name, run in runs.items()})
    with open(WORK / "survivors.txt", "w") as f:
        for name in results:
            if (WORK / name / "survivors.txt").is_file():
                f.write((WORK / name / "survivors.txt").read_text())
    (WORK / "report.md").write_text(text)
    (WORK / "results.json").write_text(json.dumps(results, indent=1, sort_keys=True))
    print(text)
    print(f"survivors: {WORK / 'survivors.txt'}")


if __name__ == "__main__":
    main()

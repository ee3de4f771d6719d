"""Every chapter runs, and every assert in it holds, under several OpenBLAS kernels and thread counts.

A chapter's asserts check the claims its prose makes (a success count, a crossing step, the top
sampled characters). The bits of a float64 matrix product depend on the BLAS kernel (SSE3 or AVX,
with or without FMA, the blocking) and can depend on the thread count, so a claim that holds only
under the kernel of the machine that wrote the chapter would be false on a reader's machine. The
normal book build (tests/course/test_book.py) executes the chapters under this machine's default
kernel; this test adds a matrix of kernels, from the oldest (every CPU running numpy has SSE3) to the
most common modern one
(the machine running it needs AVX2 for Haswell; without it OpenBLAS falls back to an older kernel,
and the probe below fails the run):

    OPENBLAS_CORETYPE in {Prescott (SSE3), Sandybridge (AVX), Haswell (AVX2 + FMA)}
        x  OPENBLAS_NUM_THREADS = OMP_NUM_THREADS in {1, 2}

(the full cross product: six configurations). Each configuration's chapters are executed by
``tools/run_chapters.py --verify`` in fresh kernels (jupytext + nbclient); after a chapter's last
cell a probe asks the OpenBLAS loaded in that kernel for its core type and thread count, and the
run fails if they are not the ones asked for. The three kernels must also give three different
bit patterns for one matrix product, so the test cannot pass by running one kernel three times.

Why the full cross product: the thread count changes the bits too, and not the same way for every
kernel (one 97x131 @ 131x89 product: Prescott and Haswell give other bits with 2 threads than with 1,
Sandybridge the same), so no kernel's 1-thread run stands in for its 2-thread run.

Cost: one configuration with 1 thread is about 90-120 CPU-seconds, kernel start-ups included
(measured with Prescott, the slowest kernel: chapters 6, 8 and 9 take 25, 30 and 47 s, the other
seven about 18 s together). The jobs (a configuration's chapters in two halves of similar cost) are
scheduled on a budget of BLAS threads equal to the machine's cores (at least 2, at most 4): two
1-thread jobs side by side, a 2-thread job alone on 2 cores. Expected: about 8 minutes on 2 free
cores (~2.5 min for the three 1-thread configurations, ~5 min for the three 2-thread ones). The 2-thread runs need those cores free: on a machine loaded ~6x over its cores, two
OpenBLAS threads made small products ~15x slower than one thread, and a training cell can then hit
the 600 s cell timeout.

This is a sample of kernels, not a proof for every CPU: the chapters' claims are made to hold by
construction (counts over seeds with margins, statistics instead of single runs), and this test
checks that construction where it is cheapest to check.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # executes every chapter six times

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "tools" / "run_chapters.py"

KERNELS = ["Prescott", "Sandybridge", "Haswell"]
THREADS = [1, 2]
CONFIGURATIONS = [(kernel, threads) for kernel in KERNELS for threads in THREADS]
JOB_TIMEOUT_S = 1800     # one half of one configuration; ~40 s normally, a hang must still end
# Cost of each chapter in CPU-seconds (kernel process, Prescott, 1 thread, measured), for splitting
# a configuration into two halves of similar cost; a chapter not listed counts as 5. Only the
# balance of the two halves depends on these numbers, not the verdict.
CHAPTER_COST_S = {"01": 1.2, "02": 2, "03": 3.5, "04": 1, "05": 1.5, "06": 25, "07": 6, "08": 30, "09": 47, "10": 2.5}


def _runner_module():
    sys.path.insert(0, str(RUNNER.parent))
    try:
        import run_chapters
    finally:
        sys.path.pop(0)
    return run_chapters


def _halves(chapters: list[Path]) -> list[list[Path]]:
    """The chapters in two groups of similar cost (longest first, each to the lighter group)."""
    groups: list[list[Path]] = [[], []]
    load = [0.0, 0.0]
    for path in sorted(chapters, key=lambda p: -CHAPTER_COST_S.get(p.name[:2], 5)):
        i = load.index(min(load))
        groups[i].append(path)
        load[i] += CHAPTER_COST_S.get(path.name[:2], 5)
    return [sorted(g) for g in groups if g]


def _die_with_parent():
    """In the child, before exec: get SIGTERM when pytest dies (a killed CI job leaves no runner behind)."""
    import ctypes
    import signal
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)     # PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):
        pass


def _thread_budget() -> int:
    return max(2, min(4, os.cpu_count() or 2))


@pytest.fixture(scope="module")
def portability_runs(tmp_path_factory) -> dict:
    """Run every configuration; {"runs": {(kernel, threads): {"chapters": {name: result}}},
    "chapters": [every chapter's file name], "wall": seconds}. 1-thread jobs run side by side; a
    2-thread job starts when the budget has room for it (after the 1-thread jobs, on 2 cores)."""
    chapters = _runner_module().chapter_paths([])
    assert chapters, "no chapters found in book/"
    tmp = tmp_path_factory.mktemp("portability")
    jobs = []
    for kernel, threads in CONFIGURATIONS:
        for k, group in enumerate(_halves(chapters)):
            report = tmp / f"{kernel}-{threads}-{k}.json"
            cmd = [sys.executable, str(RUNNER), "--coretype", kernel, "--threads", str(threads), "--verify",
                   "--report", str(report), *[p.name[:2] for p in group]]
            jobs.append({"config": (kernel, threads), "threads": threads, "cmd": cmd, "report": report,
                         "log": tmp / f"{kernel}-{threads}-{k}.log"})
    budget, running, pending = _thread_budget(), [], list(jobs)
    start = time.monotonic()
    try:
        while pending or running:
            for job in list(running):
                if job["proc"].poll() is not None:
                    job["handle"].close()
                    running.remove(job)
                elif time.monotonic() - job["started"] > JOB_TIMEOUT_S and not job.get("stopped"):
                    job["proc"].terminate()      # the runner shuts its kernel down; no report, so the test fails
                    job["stopped"] = True
                elif time.monotonic() - job["started"] > JOB_TIMEOUT_S + 60:
                    job["proc"].kill()
            used = sum(job["threads"] for job in running)
            for job in list(pending):
                if used + job["threads"] <= budget:
                    job["handle"] = open(job["log"], "w")
                    job["proc"] = subprocess.Popen(job["cmd"], stdout=job["handle"], stderr=subprocess.STDOUT,
                                                   cwd=ROOT, text=True, preexec_fn=_die_with_parent)
                    job["started"] = time.monotonic()
                    running.append(job)
                    pending.remove(job)
                    used += job["threads"]
            time.sleep(0.5)
    finally:
        for job in running:
            job["proc"].kill()
            job["proc"].wait()
            job["handle"].close()
    wall = time.monotonic() - start
    runs: dict = {config: {"chapters": {}} for config in CONFIGURATIONS}
    for job in jobs:
        kernel, threads = job["config"]
        if not job["report"].is_file():
            log = job["log"].read_text(errors="replace")[-3000:]
            pytest.fail(f"OPENBLAS_CORETYPE={kernel} threads={threads}: the runner wrote no report "
                        f"(exit code {job['proc'].returncode}); its log ends:\n{log}")
        for result in json.loads(job["report"].read_text())["chapters"]:
            runs[job["config"]]["chapters"][result["chapter"]] = result
    print(f"\nportability: {len(CONFIGURATIONS)} configurations, {len(jobs)} jobs on {budget} BLAS threads, "
          f"{wall:.0f} s wall")
    for (kernel, threads), run in runs.items():
        busy = sum(r["seconds"] for r in run["chapters"].values())
        print(f"  OPENBLAS_CORETYPE={kernel:12s} threads={threads}: chapters {busy:6.1f} s")
    return {"runs": runs, "chapters": [p.name for p in chapters], "wall": wall}


@pytest.mark.parametrize("kernel,threads", CONFIGURATIONS, ids=[f"{k}-{t}thread" for k, t in CONFIGURATIONS])
def test_every_chapter_holds_under_kernel(portability_runs, kernel, threads):
    run = portability_runs["runs"][(kernel, threads)]["chapters"]
    label = f"OPENBLAS_CORETYPE={kernel} OPENBLAS_NUM_THREADS=OMP_NUM_THREADS={threads}"
    missing = [name for name in portability_runs["chapters"] if name not in run]
    assert not missing, f"{label}: chapters not executed: {missing}"
    failures = [f"  {name}: {result['error']}" for name, result in sorted(run.items()) if result["error"]]
    assert not failures, (
        f"{label}: {len(failures)} chapter(s) fail (reproduce: python tools/run_chapters.py --coretype {kernel} "
        f"--threads {threads} --verify <chapter>):\n" + "\n".join(failures))


def test_the_kernels_really_differ(portability_runs):
    """For each thread count, three kernels give three bit patterns of one float64 product (97x131 @ 131x89):
    the matrix is not one kernel run three times. (The thread count may change the bits too: on the
    machine this was written on, Haswell's product differs between 1 and 2 threads.)"""
    fingerprints = {}
    for (kernel, threads), run in portability_runs["runs"].items():
        seen = {r["blas"]["gemm_crc32"] for r in run["chapters"].values() if r.get("blas")}
        assert len(seen) == 1, f"{kernel}, {threads} threads: expected one product fingerprint, got {seen or 'none'}"
        fingerprints[(kernel, threads)] = seen.pop()
    for threads in THREADS:
        per_kernel = {kernel: fingerprints[(kernel, threads)] for kernel in KERNELS}
        assert len(set(per_kernel.values())) == len(KERNELS), \
            f"{threads} thread(s): two kernels gave bit-identical products (one not in effect?): {per_kernel}"

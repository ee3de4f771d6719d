"""The sandbox a learner's notebook runs in while it is graded (bubblewrap + util-linux).

Why bubblewrap: it is the distribution's well-kept unprivileged sandboxing tool (Flatpak's),
a single small setuid-free binary that builds a private mount, pid, network, ipc and uts
namespace from an empty tmpfs, so the sandbox sees only what is bound into it. The uid change
as root comes from ``setpriv`` (util-linux); the limits from a few lines of Python run first in
the sandbox (:data:`LIMITS_LAUNCHER`). No daemon, no container image, no cgroup delegation needed.

What the kernel sees:

* a new root with ``/usr``, ``/lib*`` and ``/bin`` **read-only**, and the Python of
  :mod:`rnnkit.grading.sandbox_environment`: the base interpreter's installation read-only, every
  site-packages of it and of the grader masked by an empty read-only directory, and a fresh
  site-packages (:data:`SITE_DIR`) holding only numpy, ipykernel, matplotlib and what they require.
  So ``torch``, ``nbgrader``, the installed ``rnnkit`` (its references) and anything else the grader
  has installed are not importable, however rnnkit was installed (editable clone, wheel in a
  virtualenv, a hub's system prefix); no virtualenv is bound;
* a private working directory and HOME, ``/home/learner``, and a private ``/tmp`` (tmpfs, size-limited
  each), gone with the sandbox;
* the cases of this notebook's checks, read-only, in ``/grading/cases``;
* a minimal ``rnnkit`` package with the assignment's allowed helpers and the case runner
  (:mod:`rnnkit.grading.kernel`, without the rest of :mod:`rnnkit.grading`), built by
  :func:`rnnkit.grading.learner_package.build_learner_package`, first on ``PYTHONPATH``; never the
  course tree (``solutions/``, ``submitted/``, ``autograded/``, ``gradebook.db``, ``nbgrader_config.py``,
  the rnnkit sources), which is masked even if a bound directory contains it;
* no network at all (not even the host's loopback); its own pid namespace, so it cannot
  see or signal other processes, and every process in it dies with it (``--die-with-parent``,
  pid 1 of the namespace);
* uid 65534 (nobody) without capabilities.

Limits, all of them the sandbox's own: per process (rlimits) address space, file size, open files,
CPU seconds, no core dumps; the number of processes and threads (``RLIMIT_NPROC``), set inside a
user namespace that holds only this sandbox (bwrap's without root, one of its own as root), where
Linux (5.14 and later) counts only that namespace's processes — never the instructor's, whose uid
the sandbox has when grading without root, nor another sandbox's; where a cgroup can be created
(root), the total memory and processes
of the whole sandbox (:class:`Cgroup`); the tmpfs have a size. Output volume and wall time are
limited by the executor (:mod:`rnnkit.grading.pipeline`).
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import rnnkit

from .sandbox_environment import SITE_DIR, sandbox_python

#: uid and gid the learner's code runs as inside the sandbox.
SANDBOX_UID = 65534
#: Where things appear inside the sandbox.
CASES_DIR = "/grading/cases"
LIB_DIR = "/grading/lib"
CONNECTION_FILE = "/grading/kernel.json"
IPC_DIR = "/grading/ipc"
#: The kernel's working directory and HOME: a private tmpfs of its own (``/tmp`` may hold mount points
#: of the Python installation when that lives under ``/tmp``).
WORK_DIR = "/home/learner"


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed kernel (each process of it, for the rlimits).

    The address-space limit leaves room for a Python kernel with numpy (~1 GB of virtual
    memory mostly reserved, not used) and refuses a learner's 2 GB allocation.
    """
    address_space: int = 1536 * 2**20
    #: Processes and threads of this sandbox (the kernel itself uses about 10), counted in the sandbox's
    #: own user namespace: never the instructor's or another sandbox's processes of the same uid.
    processes: int = 64
    file_size: int = 64 * 2**20
    open_files: int = 256
    cpu_seconds: int = 300
    tmpfs_size: int = 256 * 2**20
    #: All processes of one sandbox together (a cgroup, where the machine lets us create one).
    total_memory: int = 2 * 2**30
    total_processes: int = 128


class SandboxUnavailable(RuntimeError):
    """bubblewrap (or util-linux) is missing: grading refuses to run learner code unsandboxed."""


#: Environment variable naming the bubblewrap binary to use instead of the system's (a site with its
#: own build; tests use it to simulate a sandbox that cannot start).
BWRAP_VARIABLE = "RNNKIT_SANDBOX_BWRAP"


def _which(name: str) -> str | None:
    for d in ("/usr/bin", "/bin", "/usr/local/bin"):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    return shutil.which(name)


def tools() -> dict[str, str]:
    """Absolute paths of bwrap and setpriv, or :class:`SandboxUnavailable` saying what to install.

    ``$RNNKIT_SANDBOX_BWRAP`` (:data:`BWRAP_VARIABLE`), when set, names the bwrap binary.
    """
    found = {name: _which(name) for name in ("bwrap", "setpriv")}
    if os.environ.get(BWRAP_VARIABLE):
        found["bwrap"] = os.environ[BWRAP_VARIABLE]
    missing = [n for n, p in found.items() if p is None]
    if missing:
        raise SandboxUnavailable(
            f"grading needs {', '.join(missing)} to run learner code in a sandbox; install them "
            f"(Debian/Ubuntu: apt-get install bubblewrap util-linux). Refusing to run submissions unsandboxed.")
    return found  # type: ignore[return-value]


def _within(path: Path, parent: Path) -> bool:
    try:
        path.resolve().relative_to(parent.resolve())
        return True
    except ValueError:
        return False


def interpreter() -> str:
    """The Python binary the sandbox runs (the base installation's, never a virtualenv's link)."""
    return str(sandbox_python().interpreter)


def secret_paths(course_root: Path) -> list[Path]:
    """Paths that must stay invisible even when a bound directory contains them: the course tree, the
    installed rnnkit package, and every import directory of the grader's Python."""
    return [course_root.resolve(), Path(rnnkit.__file__).resolve().parent, *sandbox_python().hidden]


def process_count_is_per_sandbox(release: str | None = None) -> bool:
    """Whether ``RLIMIT_NPROC`` set inside a fresh user namespace counts only that namespace's processes.

    Linux 5.14 moved the count to per-user-namespace counters ("ucounts"); before it, the limit
    counted every process of the uid on the machine, the instructor's own ones included, and the
    sandbox leaves it unset (its cgroup, where there is one, still bounds the processes).
    """
    release = release or os.uname().release
    numbers = [int(x) for x in release.split("-")[0].split(".")[:2] if x.isdigit()]
    return tuple(numbers) >= (5, 14)


#: Run by the sandbox's Python before the kernel, as the sandbox uid (``sys.argv[1:]``: the limits as
#: ``RLIMIT_…=value``, ``--``, the kernel's argv): set the rlimits and become the kernel. ``RLIMIT_NPROC``
#: is counted per user namespace and uid (Linux ≥ 5.14), so it must be set inside a user namespace that
#: holds only this sandbox. Without root, bwrap has made one (the instructor's uid mapped to 65534);
#: as root (``NEW_USER_NAMESPACE=1``) the launcher enters one of its own first, mapping uid and gid
#: 65534 through. Where the machine forbids that (a child tries first), it says so on stderr and the
#: limit counts every process of uid 65534 — never the instructor's, who is not uid 65534.
LIMITS_LAUNCHER = """\
import ctypes, os, resource, sys
cut = sys.argv.index('--')
limits = dict(item.split('=') for item in sys.argv[1:cut])
if limits.pop('NEW_USER_NAMESPACE', '0') == '1':
    uid, gid = os.getuid(), os.getgid()
    def enter():
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(0x10000000) != 0:
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
        for name, text in (('setgroups', 'deny'), ('gid_map', f'{gid} {gid} 1'), ('uid_map', f'{uid} {uid} 1')):
            with open(f'/proc/self/{name}', 'w') as f:
                f.write(text)
    child = os.fork()
    if child == 0:
        try:
            enter()
            os._exit(0)
        except OSError as e:
            print(f'sandbox: no user namespace of its own ({e}): the process limit counts every process '
                  f'of uid {uid}', file=sys.stderr)
            os._exit(1)
    if os.waitpid(child, 0)[1] == 0:
        enter()
for name, value in limits.items():
    resource.setrlimit(getattr(resource, name), (int(value), int(value)))
os.execv(sys.argv[cut + 1], sys.argv[cut + 1:])
"""


def rlimits(limits: Limits) -> dict[str, int]:
    """The per-process limits the launcher sets, by :mod:`resource` name."""
    out = {"RLIMIT_AS": limits.address_space, "RLIMIT_FSIZE": limits.file_size,
           "RLIMIT_NOFILE": limits.open_files, "RLIMIT_CPU": limits.cpu_seconds, "RLIMIT_CORE": 0}
    if process_count_is_per_sandbox():
        out["RLIMIT_NPROC"] = limits.processes
    return out


# ---------------------------------------------------------------------------
# the command line
# ---------------------------------------------------------------------------

def sandbox_command(python_args: list[str], *, course_root: Path, cases_dir: Path, lib_dir: Path,
                    connection_file: Path, ipc_dir: Path, limits: Limits = Limits()) -> list[str]:
    """``bwrap … [setpriv …] python -c LAUNCHER <limits> -- python <python_args>``: the sandbox's Python.

    ``python_args`` are the arguments of the sandbox's Python (:func:`interpreter`), e.g.
    ``["-m", "ipykernel_launcher", "-f", CONNECTION_FILE]``; a connection file must be referred to as
    :data:`CONNECTION_FILE`, whose ``ip`` is under :data:`IPC_DIR` (the host's ``ipc_dir``, bound
    there: the same socket files). As root, bwrap runs privileged and ``setpriv`` drops to uid 65534
    inside; otherwise bwrap makes an unprivileged user namespace mapping the caller to uid 65534.
    :data:`LIMITS_LAUNCHER` then sets the rlimits inside a user namespace of the sandbox's own (bwrap's,
    or, as root, one it enters), so the process limit counts the sandbox's processes only.
    """
    t = tools()
    env_python = sandbox_python()
    python = str(env_python.interpreter)
    cmd = [t["bwrap"],
           "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
           "--die-with-parent", "--new-session", "--clearenv",
           "--hostname", "sandbox"]
    system = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
    for d in system:
        if os.path.exists(d):
            cmd += ["--ro-bind", d, d] if not os.path.islink(d) else ["--symlink", os.readlink(d), d]
    for f in ("/etc/ld.so.cache", "/etc/localtime", "/etc/nsswitch.conf"):
        if os.path.exists(f):
            cmd += ["--ro-bind", f, f]
    cmd += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(limits.tmpfs_size), "--tmpfs", "/tmp",
            "--perms", "0755", "--dir", "/home",
            "--perms", "1777", "--size", str(limits.tmpfs_size), "--tmpfs", WORK_DIR]
    real_system = [Path(d) for d in system if os.path.isdir(d) and not os.path.islink(d)]
    prefixes = [p for p in env_python.prefixes if not any(_within(p, d) for d in real_system)]
    # bwrap (privileged) creates missing parents of a mount point with mode 0700, which uid 65534
    # could not traverse: create them ourselves, world-traversable.
    made: set[str] = {"/", "/tmp", "/usr", "/home"}

    def parents(target: str) -> list[str]:
        out = []
        for parent in reversed(Path(target).parents):
            if str(parent) not in made:
                made.add(str(parent))
                out += ["--perms", "0755", "--dir", str(parent)]
        return out

    for target in [str(r) for r in prefixes] + [CASES_DIR, LIB_DIR, CONNECTION_FILE, IPC_DIR, SITE_DIR]:
        cmd += parents(target)
    for root in prefixes:
        cmd += ["--ro-bind", str(root), str(root)]
    bound = real_system + prefixes
    for secret in secret_paths(course_root):
        if secret.is_dir() and any(_within(secret, b) for b in bound):
            # an empty read-only directory over it: invisible, and nothing can be put there
            cmd += ["--perms", "0555", "--size", "4096", "--tmpfs", str(secret), "--remount-ro", str(secret)]
    # the fresh site-packages: only the entries of the distributions the kernel and notebooks need
    cmd += ["--perms", "0755", "--size", str(2**20), "--tmpfs", SITE_DIR]
    made.add(SITE_DIR)
    for name, source in env_python.site_entries:
        target = f"{SITE_DIR}/{name}"
        cmd += parents(target) + ["--ro-bind", str(source), target]
    cmd += ["--remount-ro", SITE_DIR]
    cmd += ["--ro-bind", str(cases_dir), CASES_DIR, "--ro-bind", str(lib_dir), LIB_DIR,
            "--ro-bind", str(connection_file), CONNECTION_FILE, "--bind", str(ipc_dir), IPC_DIR,
            "--chdir", WORK_DIR]
    env = {"HOME": WORK_DIR, "PATH": "/usr/bin:/bin", "PYTHONPATH": f"{LIB_DIR}:{SITE_DIR}", "PYTHONNOUSERSITE": "1",
           "PYTHONDONTWRITEBYTECODE": "1", "RNNKIT_CASES": CASES_DIR, "OPENBLAS_NUM_THREADS": "1",
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp",
           "IPYTHONDIR": "/tmp/.ipython", "JUPYTER_RUNTIME_DIR": "/tmp/.jupyter", "LANG": "C.UTF-8"}
    for k, v in env.items():
        cmd += ["--setenv", k, v]
    if os.geteuid() == 0:
        cmd += ["--", t["setpriv"], f"--reuid={SANDBOX_UID}", f"--regid={SANDBOX_UID}",
                "--clear-groups", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--"]
    else:
        cmd += ["--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--cap-drop", "ALL", "--"]
    settings = {**rlimits(limits), "NEW_USER_NAMESPACE": int(os.geteuid() == 0)}
    launcher = [python, "-I", "-S", "-c", LIMITS_LAUNCHER, *(f"{k}={v}" for k, v in settings.items()), "--"]
    return cmd + launcher + [python, *python_args]


def prepare_private_dir(path: Path, readable_file: Path | None = None) -> None:
    """Let the sandbox uid create its sockets in ``path`` (and read ``readable_file``) when we run as root.

    ``path`` (the kernel's ipc directory, on the host's disk) stays root's: the sandbox's group may
    add entries to it only until :func:`seal_private_dir`, so learner code can never fill the host's
    disk through it (the sandbox's own ``/tmp`` is a size-limited tmpfs).
    """
    if os.geteuid() == 0:
        os.chown(path, 0, SANDBOX_UID)
        os.chmod(path, 0o770)
        if readable_file is not None:
            os.chown(readable_file, SANDBOX_UID, SANDBOX_UID)
            os.chmod(readable_file, 0o400)


def seal_private_dir(path: Path) -> None:
    """Once the kernel has bound its sockets (before any learner code runs): no new entries in ``path``.

    As root the directory is root's and the sandbox only its group, which loses write access here.
    Without root the sandbox's uid is mapped to the caller, who owns the directory and could undo
    a chmod; there the kernel's entries are limited only by the file-size limit and the time limits.
    """
    if os.geteuid() == 0:
        os.chmod(path, 0o750)


# ---------------------------------------------------------------------------
# a cgroup for the whole sandbox: total memory and processes (rlimits are per process)
# ---------------------------------------------------------------------------

class Cgroup:
    """A memory + pids control group holding every process of one sandbox, or nothing.

    rlimits bound each process; a learner who forks 60 processes of 1.5 GB each would still
    exhaust the machine. A cgroup bounds their sum. It needs a writable cgroup hierarchy
    (root, or a delegated subtree): cgroup v2 (``memory.max``, ``pids.max``) or v1 (the
    ``memory`` and ``pids`` controllers). Where neither is writable, :meth:`create` returns
    ``None`` and only the per-process limits apply (the instructor guide says so).
    """

    def __init__(self, dirs: list[Path]):
        self.dirs = dirs

    @classmethod
    def create(cls, name: str, limits: Limits) -> "Cgroup | None":
        try:
            own = Path("/proc/self/cgroup").read_text().splitlines()
        except OSError:
            return None
        paths = {}
        for line in own:
            _, controllers, path = line.split(":", 2)
            for ctl in controllers.split(",") if controllers else ["unified"]:
                paths[ctl] = path
        made: list[Path] = []
        try:
            v2 = Path("/sys/fs/cgroup") / paths.get("unified", "/").lstrip("/")
            if (Path("/sys/fs/cgroup/cgroup.controllers").exists() and "memory" in paths.get("unified", "") + "memory"
                    and (v2 / "cgroup.subtree_control").exists()
                    and {"memory", "pids"} <= set((v2 / "cgroup.subtree_control").read_text().split())):
                d = v2 / name
                d.mkdir()
                made.append(d)
                (d / "memory.max").write_text(str(limits.total_memory))
                (d / "pids.max").write_text(str(limits.total_processes))
                return cls(made)
            for ctl, knob, value in (("memory", "memory.limit_in_bytes", limits.total_memory),
                                     ("pids", "pids.max", limits.total_processes)):
                base = Path("/sys/fs/cgroup") / ctl / paths.get(ctl, "/").lstrip("/")
                d = base / name
                d.mkdir()
                made.append(d)
                (d / knob).write_text(str(value))
            return cls(made)
        except OSError:
            for d in reversed(made):
                try:
                    d.rmdir()
                except OSError:
                    pass
            return None

    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs]

    def wrap(self, cmd: list[str]) -> list[str]:
        """``cmd`` started inside the cgroup: a shell writes its own pid into it, then execs."""
        script = 'for f; do [ "$f" = "--" ] && break; echo $$ > "$f"; shift; done; shift; exec "$@"'
        return ["/bin/sh", "-c", script, "sh", *self.procs_files(), "--", *cmd]

    def alive(self) -> list[int]:
        pids = set()
        for d in self.dirs:
            try:
                pids.update(int(p) for p in (d / "cgroup.procs").read_text().split())
            except OSError:
                pass
        return sorted(pids)

    def remove(self) -> None:
        """Kill whatever is left in it and remove it."""
        import os
        import signal
        import time
        for _ in range(50):
            pids = self.alive()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.02)
        for d in self.dirs:
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except OSError:
                    time.sleep(0.02)

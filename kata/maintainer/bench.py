"""How fast is the kata? The reference encoder against Hugging Face's BertModel, and the learner's feedback loop.

    kata bench                 the full benchmark (a few minutes; best on a quiet machine)
    kata bench --quick         small shapes, one exercise: seconds (CI runs it so it cannot rot)
    kata bench --json PATH     also write every number to PATH

It prints three tables.

1. Speed. The reference Encoder (solutions/) and BertModel, with eager attention and
   with SDPA, all with the pretrained weights, run on the same token ids at several
   (batch x length) shapes. The reference is written as its equations, not for speed: its
   ratio to BertModel is reported as measured, and no ratio is a target. The runs take
   turns (ours, eager, sdpa, matmuls, ours, ...) so that a busy moment slows them alike,
   and each time is the best of several.
   Our Encoder always returns every hidden state and attention map (docs/contract.md); BertModel
   returns them only when asked, so eager attention is timed both ways: as called by
   default, and asked for the same outputs as ours ("eager, all outputs").
   "Fresh MiB" is the memory the kernel had to hand out (and zero) during the best
   forward: minor page faults, 4 KiB each, after glibc gave freed memory back. On
   Linux every shape is timed once more in a fresh process whose glibc keeps freed
   memory (KEPT_MEMORY): what is left is what the code itself costs.
   Peak memory is measured in a fresh process per model and shape: how far the
   resident set rises above what the process held just before the forward (Linux's
   VmHWM, reset through /proc/self/clear_refs), with glibc told to hand every large
   block back when it is freed, so memory freed while loading is not counted twice.
2. Arithmetic. The floating-point operations of one forward (its matrix products, the
   same count as torch.utils.flop_counter's; the element-wise work is a rounding error),
   the GFLOP/s each model reaches, and the GFLOP/s of the same matrix products done
   with plain torch.matmul on this machine: what the arithmetic alone allows.
3. Feedback loop. The commands a learner runs, each as the wall time of a fresh
   process started from the repository, and the part of it that is only starting
   Python and importing libraries: a process that imports exactly the libraries the
   command imported (read from `python -X importtime`), and nothing else.
"""

import argparse
import concurrent.futures
import gc
import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from kata import COURSE, REPO, SOLUTIONS, course
from kata.core.exits import EXIT_CANNOT_RUN, EXIT_NOT_YET, EXIT_OK
from kata.core.weights import INSTALL_HINT, pretrained_source

FULL_SHAPES = ((1, 16), (8, 128), (32, 128), (8, 512))  # (batch, length)
QUICK_SHAPES = ((1, 16), (2, 32))
MODELS = ("ours", "eager", "sdpa")
# Each timed run: (model, what it is asked to return besides the last hidden state).
RUNS = {
    "ours": ("ours", {}),
    "eager": ("eager", {}),
    "eager_all": ("eager", {"output_hidden_states": True, "output_attentions": True}),
    "sdpa": ("sdpa", {}),
}


@dataclass
class Mode:
    """How much to measure: the full benchmark, or the quick one that CI runs."""

    name: str
    shapes: tuple[tuple[int, int], ...]
    repeats: int  # rounds of timed forwards per shape at least; the best one counts
    seconds_per_shape: float  # more rounds, up to 4 x repeats, while they fit in this time
    memory_shapes: tuple[tuple[int, int], ...]  # shapes whose peak memory is measured (a process each)
    exercises: tuple[str, ...]  # exercises whose pytest run is timed
    whole_suite: bool  # time `pytest --solutions` (everything)
    grader_args: tuple[str, ...]  # what `python grader.py --solutions` is timed with
    command_repeats: int  # runs per feedback-loop command (and per import-only process); the best one counts


FULL = Mode("full", FULL_SHAPES, 7, 15.0, FULL_SHAPES, COURSE, True, (), 2)
QUICK = Mode("quick", QUICK_SHAPES, 3, 0.0, QUICK_SHAPES[:1], COURSE[:1], False, ("--only", "attention"), 1)


# ---- the models ---------------------------------------------------------------------


def load_model(name: str) -> torch.nn.Module:
    """One of MODELS, in eval mode, with the pretrained weights."""
    from transformers import BertModel
    from transformers.utils import logging

    from kata.core.loading import load_stack
    from kata.core.weights import load_pretrained

    if name == "sdpa":
        logging.disable_progress_bar()
        return BertModel.from_pretrained(pretrained_source(), attn_implementation="sdpa").eval()
    eager, _ = load_pretrained()
    return load_stack(SOLUTIONS).Encoder.from_hf(eager).eval() if name == "ours" else eager


def token_batch(config: Any, batch: int, length: int) -> dict[str, torch.Tensor]:
    """Random token ids (the same every time) with no padding: what every model is given."""
    generator = torch.Generator().manual_seed(batch * 1000 + length)
    return {
        "input_ids": torch.randint(1000, config.vocab_size, (batch, length), generator=generator),
        "attention_mask": torch.ones(batch, length, dtype=torch.long),
        "token_type_ids": torch.zeros(batch, length, dtype=torch.long),
    }


# A matrix product of one forward: (batch dims, m, k, n, how many).
MatmulSize = tuple[tuple[int, ...], int, int, int, int]


def matmul_sizes(config: Any, batch: int, length: int) -> list[MatmulSize]:
    """The matrix products of one forward as (batch dims, m, k, n, how many): what costs the FLOPs."""
    tokens, width, ffn = batch * length, config.hidden_size, config.intermediate_size
    heads = config.num_attention_heads
    per_layer = [
        ((), tokens, width, width, 4),  # query, key, value and output projections
        ((), tokens, width, ffn, 1),  # feed-forward, up
        ((), tokens, ffn, width, 1),  # feed-forward, down
        ((batch * heads,), length, width // heads, length, 1),  # scores: q k^T
        ((batch * heads,), length, length, width // heads, 1),  # weights v
    ]
    return [(dims, m, k, n, count * config.num_hidden_layers) for dims, m, k, n, count in per_layer]


def flops_of(sizes: Iterable[MatmulSize]) -> int:
    return sum(2 * m * k * n * count * (dims[0] if dims else 1) for dims, m, k, n, count in sizes)


def counted_flops(model: torch.nn.Module, inputs: dict[str, torch.Tensor]) -> int:
    """The FLOPs of one forward as torch's own counter sees them (to check matmul_sizes)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(**inputs)
    return counter.get_total_flops()


def matmul_replay(sizes: Iterable[MatmulSize]) -> Callable[[], None]:
    """A function that does the same matrix products as one forward, with plain torch.matmul."""
    generator = torch.Generator().manual_seed(0)
    operands = [
        (torch.randn(*dims, m, k, generator=generator), torch.randn(*dims, k, n, generator=generator), count)
        for dims, m, k, n, count in sizes
    ]

    def replay() -> None:
        for a, b, count in operands:
            for _ in range(count):
                torch.matmul(a, b)

    return replay


def best_times(
    runs: dict[str, Callable[[], object]], repeats: int, seconds: float
) -> tuple[dict[str, tuple[float, int]], int]:
    """Each run's (best wall time in seconds, minor page faults in that run), over rounds in
    which the runs take turns: `repeats` rounds, or as many more (up to 4 x) as fit in `seconds`."""
    best = dict.fromkeys(runs, (float("inf"), 0))
    with torch.inference_mode():
        warm_up_start = time.perf_counter()
        for run in runs.values():  # warm up: first calls allocate and pick kernels
            run()
        one_round = time.perf_counter() - warm_up_start
        rounds = max(repeats, min(4 * repeats, int(seconds / one_round)))
        for _ in range(rounds):
            for name, run in runs.items():
                faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
                start = time.perf_counter()
                output = run()
                elapsed = time.perf_counter() - start
                faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
                best[name] = min(best[name], (elapsed, faults))
                del output  # freed outside the timing: it is the forward that is timed
    return best, rounds


@dataclass
class ShapeResult:
    batch: int
    length: int
    rounds: int  # interleaved rounds timed; each figure is the best of them
    ms: dict[str, float]  # run (RUNS, and "matmul") -> best milliseconds per forward
    fresh_mib: dict[str, float]  # run -> MiB of fresh pages (minor faults) in that best forward
    ratio: dict[str, float]  # "ours/eager", "ours/eager_all", "ours/sdpa"
    gflop: float  # floating-point operations of one forward, in GFLOP
    gflops: dict[str, float]  # run (and "matmul") -> GFLOP/s
    largest_difference: float  # max |ours - eager| of the last hidden state
    peak_mib: dict[str, float] = field(default_factory=dict)  # run -> MiB, for the shapes measured


def measure_speed(models: dict[str, torch.nn.Module], shape: tuple[int, int], mode: Mode) -> ShapeResult:
    batch, length = shape
    config = models["eager"].config
    inputs = token_batch(config, batch, length)
    sizes = matmul_sizes(config, batch, length)
    runs: dict[str, Callable[..., object]] = {
        name: (lambda model=models[model], asked=asked: model(**inputs, **asked))
        for name, (model, asked) in RUNS.items()
    }
    runs["matmul"] = matmul_replay(sizes)
    best, rounds = best_times(runs, mode.repeats, mode.seconds_per_shape)
    seconds = {name: s for name, (s, _) in best.items()}
    with torch.inference_mode():
        difference = models["ours"](**inputs).last_hidden_state - models["eager"](**inputs).last_hidden_state
    gflop = flops_of(sizes) / 1e9
    return ShapeResult(
        batch,
        length,
        rounds,
        ms={name: 1e3 * s for name, s in seconds.items()},
        fresh_mib={name: faults * resource.getpagesize() / 2**20 for name, (_, faults) in best.items()},
        ratio={f"ours/{name}": seconds["ours"] / seconds[name] for name in RUNS if name != "ours"},
        gflop=gflop,
        gflops={name: gflop / s for name, s in seconds.items()},
        largest_difference=difference.abs().max().item(),
    )


# glibc gives large freed blocks back to the kernel, and the next large tensor then costs
# fresh pages, each zeroed by the kernel on first touch. Told to keep them, it reuses them.
KEPT_MEMORY = {"MALLOC_TRIM_THRESHOLD_": "4000000000", "MALLOC_MMAP_THRESHOLD_": "4000000000"}


def measure_speed_with_kept_memory(mode: Mode) -> list[ShapeResult] | None:
    """measure_speed for each of the mode's shapes in a fresh process with KEPT_MEMORY; None off Linux."""
    if not sys.platform.startswith("linux"):  # the variables are glibc's
        return None
    command = [sys.executable, "-m", "kata", "bench", "--kept-memory-of", mode.name]
    env = {**os.environ, **KEPT_MEMORY}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=True)
    return [ShapeResult(**fields) for fields in json.loads(done.stdout.strip().splitlines()[-1])]


def speed_of_every_shape(mode: Mode) -> str:
    """The fresh process of measure_speed_with_kept_memory: its results as one line of JSON."""
    models = {name: load_model(name) for name in MODELS}
    return json.dumps([asdict(measure_speed(models, shape, mode)) for shape in mode.shapes])


# ---- peak memory, one fresh process per model and shape --------------------------------


def _status_kib(field_name):
    match = re.search(rf"^{field_name}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    return int(match.group(1))  # type: ignore[union-attr]  # Linux always writes these fields


def peak_of_one_forward(name: str, batch: int, length: int) -> float:
    """MiB the resident set rises by during one forward of run `name`, in this (fresh) process."""
    model_name, asked = RUNS[name]
    model = load_model(model_name)
    inputs = token_batch(model.config, batch, length)
    with torch.inference_mode():  # what the first call of all initialises is not the forward's memory
        model(**token_batch(model.config, 1, 2))
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # Linux: the high-water mark restarts at the current size
    before = _status_kib("VmRSS")
    with torch.inference_mode():
        output = model(**inputs, **asked)
    peak = _status_kib("VmHWM") - before
    del output
    return peak / 1024


def measure_peak(name: str, shape: tuple[int, int]) -> float | None:
    """Run peak_of_one_forward in a fresh process; None where Linux's /proc is not there."""
    if not Path("/proc/self/clear_refs").exists():
        return None
    # Large blocks straight from the kernel and back, so the forward cannot reuse memory freed while loading.
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(64 * 1024)}
    command = [sys.executable, "-m", "kata", "bench", "--peak-of", name, f"{shape[0]}x{shape[1]}"]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


# ---- the feedback loop ----------------------------------------------------------------

OUR_MODULES = ("kata", "tests", "conftest", "grader", "solutions", "exercises", "_kata_", "test_", "__main__")


@dataclass
class CommandResult:
    command: str
    wall_s: float | None  # best wall time of the whole command (None: only its import is timed)
    cpu_s: float | None  # CPU time of it and its children, in the best run
    import_s: float  # starting Python and importing the libraries it imported, and nothing else
    ok: bool  # exit code 0


def run_timed(command: Sequence[str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of the process tree, exit code) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu, done.returncode


def imported_libraries(command: Sequence[str]) -> list[str]:
    """The modules a Python command imports, ours left out, in the order they finished importing."""
    traced = [command[0], "-X", "importtime", *command[1:]]
    if "pytest" in command:
        traced.append("--capture=no")  # pytest would swallow what is imported while tests run
    done = subprocess.run(traced, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    names = re.findall(r"^import time:\s+\d+ \|\s+\d+ \| *(\S+)$", done.stderr, re.MULTILINE)
    return [name for name in dict.fromkeys(names) if not name.startswith(OUR_MODULES)]


def import_only(libraries: Sequence[str], repeats: int, flags: Sequence[str] = ()) -> float:
    """Best wall seconds of a fresh Python that imports `libraries` and stops at once (no clean-up at exit)."""
    script = (
        "import importlib, os\n"
        f"for name in {libraries!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception:\n"  # a module that only imports inside its parent's import
        "        pass\n"
        "os._exit(0)\n"
    )
    command = [sys.executable, *flags, "-c", script]
    return min(run_timed(command)[0] for _ in range(repeats))


def feedback_commands(mode: Mode) -> list[tuple[str, list[str]]]:
    """(what the learner types, the command run here) for each command timed."""
    python, pytest = sys.executable, [sys.executable, "-m", "pytest", "--solutions", "-q"]
    no_cache = ["-p", "no:cacheprovider"]  # leave the learner's --lf record alone
    commands = [
        (f"pytest --solutions tests/test_{name}.py", [*pytest, *no_cache, f"tests/test_{name}.py"])
        for name in mode.exercises
    ]
    if mode.whole_suite:
        commands.append(("pytest --solutions", [*pytest, *no_cache]))
    grader = ["grader.py", "--solutions", *mode.grader_args]
    commands.append(("python " + " ".join(grader), [python, *grader]))
    return commands


def grader_children(mode: Mode) -> tuple[int, int]:
    """The grader's children (kata/grader/sandbox/child.py): how many, and how many import transformers (encoder, capstone)."""
    groups = [group for group in course.GROUPS if not mode.grader_args or group in mode.grader_args]
    return len(groups), sum(group in ("encoder", "capstone") for group in groups)


def measure_feedback(mode: Mode) -> list[CommandResult]:
    results = []
    for shown_command, command in feedback_commands(mode):
        runs = [run_timed(command) for _ in range(mode.command_repeats)]
        wall, cpu, code = min(runs)
        seconds = import_only(imported_libraries(command), mode.command_repeats)
        results.append(CommandResult(shown_command, wall, cpu, seconds, code == 0))
    # Each grader child starts Python (isolated, no bytecode written) and imports torch, and
    # transformers for the encoder and the capstone, before it runs anything.
    children, with_transformers = grader_children(mode)
    child = ["-I", "-B"]
    torch_only = import_only(["torch", "numpy"], mode.command_repeats, flags=child)
    results.append(
        CommandResult(f"  per grader child ({children}): Python + torch", None, None, torch_only, True)
    )
    if with_transformers:
        libraries = ["torch", "numpy", "transformers.models.bert.modeling_bert"]
        heavy = import_only(libraries, mode.command_repeats, flags=child)
        results.append(
            CommandResult(
                f"  {with_transformers} of them (encoder, capstone) + transformers", None, None, heavy, True
            )
        )
    return results


# ---- the report ---------------------------------------------------------------------


def machine() -> dict[str, Any]:
    import transformers

    cpuinfo = Path("/proc/cpuinfo")
    cpu = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text() if cpuinfo.exists() else "", re.MULTILINE)
    return {
        "cpu": cpu.group(1) if cpu else platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "bytecode_written": not sys.flags.dont_write_bytecode,
        "load_average_start": os.getloadavg()[0],
    }


def speed_table(results: Sequence[ShapeResult]) -> str:
    lines = [
        "                                BertModel eager   BertModel        ours / eager     ours /",
        "  shape     rounds   ours ms   default  all outputs   sdpa ms   default  all outputs   sdpa   |ours-eager|",
    ]
    for r in results:
        ms, ratio = r.ms, r.ratio
        lines.append(
            f"  {r.batch:>2}x{r.length:<6} {r.rounds:6} {ms['ours']:9.1f} {ms['eager']:9.1f} {ms['eager_all']:12.1f}"
            f" {ms['sdpa']:9.1f} {ratio['ours/eager']:9.2f} {ratio['ours/eager_all']:12.2f}"
            f" {ratio['ours/sdpa']:7.2f} {r.largest_difference:14.1e}"
        )
    return "\n".join(lines)


def memory_table(results: Sequence[ShapeResult]) -> str:
    """Fresh pages in each best timed forward, and the peak of one forward in a fresh process."""
    names = "   ours  eager    all   sdpa"
    lines = [f"  shape     fresh MiB:{names}     peak MiB:{names}"]
    for r in results:
        fresh = "".join(f"{r.fresh_mib[name]:7.1f}" for name in RUNS)
        peaks = "".join(f"{r.peak_mib[name]:7.1f}" if name in r.peak_mib else f"{'-':>7}" for name in RUNS)
        lines.append(f"  {r.batch:>2}x{r.length:<6}          {fresh}              {peaks}")
    return "\n".join(lines)


def arithmetic_table(results: Sequence[ShapeResult]) -> str:
    lines = [
        "  shape     GFLOP/forward  ours GFLOP/s  eager GFLOP/s  sdpa GFLOP/s  matmul GFLOP/s  ours/matmul"
    ]
    for r in results:
        g = r.gflops
        lines.append(
            f"  {r.batch:>2}x{r.length:<6} {r.gflop:13.2f} {g['ours']:13.1f} {g['eager']:14.1f}"
            f" {g['sdpa']:13.1f} {g['matmul']:15.1f} {g['ours'] / g['matmul']:11.0%}"
        )
    return "\n".join(lines)


def feedback_table(results: Sequence[CommandResult]) -> str:
    lines = [f"  {'command':<58} {'wall s':>7} {'CPU s':>7} {'import only s':>14}"]
    for r in results:
        wall, cpu = ("", "") if r.wall_s is None else (f"{r.wall_s:7.2f}", f"{r.cpu_s:7.2f}")
        failed = "" if r.ok else "   FAILED (exit code not 0)"
        lines.append(f"  {r.command:<58} {wall:>7} {cpu:>7} {r.import_s:14.2f}{failed}")
    return "\n".join(lines)


def measure(mode: Mode, json_path: str | None = None) -> int:
    info = machine()
    print(f"Transformer Encoder Kata: how fast ({mode.name} benchmark)", flush=True)
    print(
        f"  {info['cpu']}, {info['cores']} cores; torch {info['torch']} on {info['torch_threads']} threads; "
        f"transformers {info['transformers']}; Python {info['python']}; load average {info['load_average_start']:.2f}",
        flush=True,
    )
    if not info["bytecode_written"]:
        print(
            "  PYTHONDONTWRITEBYTECODE is set: pytest rewrites the tests' asserts on every run (usually cached)"
        )
    models = {name: load_model(name) for name in MODELS}
    smallest = token_batch(models["eager"].config, *mode.shapes[0])
    expected = flops_of(matmul_sizes(models["eager"].config, *mode.shapes[0]))
    if counted_flops(models["ours"], smallest) != expected:
        raise AssertionError(
            "kata/maintainer/bench.py: matmul_sizes no longer matches the encoder's matrix products"
        )
    speed = [measure_speed(models, shape, mode) for shape in mode.shapes]
    del models
    kept = measure_speed_with_kept_memory(mode)
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
        peaks = {
            (name, shape): pool.submit(measure_peak, name, shape)
            for shape in mode.memory_shapes
            for name in RUNS
        }
        for result in speed:
            for name in RUNS:
                if (name, (result.batch, result.length)) in peaks:
                    peak = peaks[name, (result.batch, result.length)].result()
                    if peak is not None:
                        result.peak_mib[name] = peak
    print(
        "\n1. The reference Encoder against BertModel: pretrained MiniLM-L6, float32, no padding, "
        "best of the interleaved forwards (rounds)"
    )
    print(speed_table(speed))
    print(
        "\n   Memory: fresh pages the kernel handed out during the best timed forward, and one forward's peak"
    )
    print(memory_table(speed))
    if kept is not None:
        print(
            "\n   The same, in a process whose glibc keeps freed memory (no fresh pages): the code's own cost"
        )
        print(speed_table(kept))
    print("\n2. Arithmetic: the matrix products of one forward, and plain torch.matmul of the same sizes")
    print(arithmetic_table(speed))
    print("\n3. Feedback loop: wall time of a fresh process from the repository", flush=True)
    feedback = measure_feedback(mode)
    print(feedback_table(feedback))
    info["load_average_end"] = os.getloadavg()[0]
    print(f"\nload average at the end: {info['load_average_end']:.2f}")
    if json_path:
        data = {
            "mode": mode.name,
            "machine": info,
            "encoder": [asdict(r) for r in speed],
            "encoder_kept_memory": None if kept is None else [asdict(r) for r in kept],
            "kept_memory_environment": KEPT_MEMORY,
            "feedback": [asdict(r) for r in feedback],
        }
        Path(json_path).write_text(json.dumps(data, indent=2) + "\n")
        print(f"Wrote {json_path}")
    return EXIT_OK if all(r.ok for r in feedback) else EXIT_NOT_YET


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="small shapes and one exercise, in seconds")
    parser.add_argument("--json", metavar="PATH", help="also write the results to PATH")
    # What the benchmark's own fresh processes are asked to measure (measure_peak, measure_speed_with_kept_memory).
    parser.add_argument("--peak-of", nargs=2, metavar=("MODEL", "BxL"), help=argparse.SUPPRESS)
    parser.add_argument("--kept-memory-of", choices=(FULL.name, QUICK.name), help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    """The benchmark: EXIT_NOT_YET when a timed command failed, EXIT_CANNOT_RUN without the weights."""
    if pretrained_source() is None:
        print(INSTALL_HINT, file=sys.stderr)
        return EXIT_CANNOT_RUN
    if args.peak_of:  # the fresh process of measure_peak
        name, shape = args.peak_of
        print(peak_of_one_forward(name, *map(int, shape.split("x"))))
        return EXIT_OK
    if args.kept_memory_of:  # the fresh process of measure_speed_with_kept_memory
        print(speed_of_every_shape(FULL if args.kept_memory_of == FULL.name else QUICK))
        return EXIT_OK
    return measure(QUICK if args.quick else FULL, args.json)

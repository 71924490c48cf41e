"""SemanticGen performance report: one command, a printed table, bench/results/latest.{json,png}.

    make bench                      # the full report (~5 min on an idle 2-core CPU)
    make bench BENCH_ARGS=--quick   # small shapes only, fewer repeats (~1.5 min)
    python bench/run.py --items 1 2 # only some items (needs SEMANTICGEN_COMFYUI: use make)

Items (issue 9): 1 DiT step ours vs ComfyUI's WanModel; 2 efficiency against the measured fp32 matmul peak;
3 in-context semantic tokens' overhead; 4 graph overhead through a real ComfyUI server and the cold/warm demo with
a per-stage breakdown; 5 encoder throughput; 6 Swin vs full scaling (bench/bench_swin.py, run as is).
Every figure is a median over rounds in which both sides ran back to back, in rotating order. Items 1–3 and 5 use
one torch thread and that thread's CPU time (robust on a shared machine); item 4 measures wall time, with the
same number of torch threads in the server and in this process (`--graph-threads`, default 1).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def comfy_on_path() -> None:
    """ComfyUI's modules in-process (WanModel, its VAE, video writing), CPU only."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from comfy_host import use_comfyui

    use_comfyui()  # $SEMANTICGEN_COMFYUI, which `make bench` sets


def swin(quick: bool, out: Path) -> dict:
    """Item 6 in its own process: it fixes glibc's mmap threshold for its memory column."""
    cmd = [sys.executable, str(ROOT / "bench" / "bench_swin.py"), "--json", str(out)]
    cmd += ["--lengths", "1", "2", "--repeats", "1"] if quick else []
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text())


def fmt_row(cols: list[str], widths: list[int]) -> str:
    return " | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cols, widths, strict=True)))


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [fmt_row(r, widths) for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def summary(rep: dict) -> str:
    """The report's main table: one line per figure, with its goal."""
    rows = [["item", "measured", "reference", "ratio", "goal", "met"]]

    def add(item: str, measured: str, ref: str, ratio: float, goal: str, ok: bool | None) -> None:
        rows.append([item, measured, ref, f"{ratio:.3f}", goal, "" if ok is None else ("yes" if ok else "NO")])

    for r in rep.get("dit", []):
        add(
            f"1 DiT step, {r['case']} ({r['tokens']} tok)",
            f"ours {r['ours_s']:.4f} s",
            f"Wan {r['wan_s']:.4f} s",
            r["ratio"],
            "≤ 1.00",
            r["ratio"] <= 1.0,
        )
        if "compiled_s" in r:  # opt-in torch.compile of the blocks (compile time in the JSON)
            add(
                f"1 … with torch.compile ({r['compile_s']:.0f} s once)",
                f"ours {r['compiled_s']:.4f} s",
                f"Wan {r['wan_s']:.4f} s",
                r["compiled_ratio"],
                "",
                None,
            )
    for r in rep.get("dit", []):
        eff = r["ours_gflops"] / rep["peak_gflops"]
        add(
            f"2 efficiency, {r['case']}",
            f"{r['ours_gflops']:.1f} GFLOP/s",
            f"peak {rep['peak_gflops']:.1f}",
            eff,
            "≥ 0.50" if r["case"] == "wide" else "",
            eff >= 0.5 if r["case"] == "wide" else None,
        )
    for r in rep.get("dit", []):  # the Memory Plan's time estimate (FLOPs / matmul speed) against the measured step
        add(
            f"2 time estimate, {r['case']}",
            f"estimate {r['estimate_s']:.4f} s",
            f"measured {r['ours_s']:.4f} s",
            r["estimate_s"] / r["ours_s"],
            "",
            None,
        )
    for r in rep.get("semantic", []):
        add(
            f"3 semantic tokens, {r['case']} (+{r['semantic_tokens']} tok)",
            f"with {r['with_s']:.4f} s",
            f"without {r['without_s']:.4f} s",
            r["time_ratio"],
            f"≤ {r['goal']:.3f}",
            r["time_ratio"] <= r["goal"],
        )
    if g := rep.get("graph"):
        add(
            "4 T2V warm, server vs direct",
            f"server {g['server_s']:.3f} s",
            f"direct {g['direct_s']:.3f} s",
            g["ratio"],
            "≤ 1.05",
            g["ratio"] <= 1.05,
        )
        rows.append(
            [
                "4 T2V cold (start + 1st prompt)",
                f"{g['server_start_s'] + g['cold_prompt_s']:.1f} s",
                f"start {g['server_start_s']:.1f} s",
                "",
                "",
                "",
            ]
        )
    for r in rep.get("encoder", []):
        rows.append([f"5 encoder, {r['shape']}", f"{r['tower_fps']:.3g} frames/s", f"{r['tower_s']:.4g} s", "", "", ""])
    return table(rows)


def stages(g: dict) -> str:
    rows = [["stage (T2V demo, s)", "server cold", "server warm", "direct warm"]]
    for s in g["server_stages"]:
        rows.append([s, *(f"{g[k][s]:.3f}" for k in ("cold_stages", "server_stages", "direct_stages"))])
    rows.append(["total", f"{g['cold_prompt_s']:.3f}", f"{g['server_s']:.3f}", f"{g['direct_s']:.3f}"])
    return table(rows)


def swin_table(s: dict) -> str:
    rows = [["length", "frames", "tokens", "full s", "swin s", "full/swin"]]
    for r in s["rows"]:
        rows.append(
            [
                f"{r['length']}×",
                str(r["frames"]),
                str(r["tokens"]),
                f"{r['full_s']:.3f}",
                f"{r['swin_s']:.3f}",
                f"{r['full_s'] / r['swin_s']:.2f}",
            ]
        )
    return table(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small shapes, fewer repeats, no 3B tower")
    ap.add_argument("--repeats", type=int, help="rounds per figure (default 7, quick 3)")
    ap.add_argument("--items", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6], choices=range(1, 7))
    ap.add_argument(
        "--graph-threads",
        type=int,
        default=1,
        help="torch threads of both sides of item 4 (default 1: on a shared CPU, several threads per process make "
        "wall times swing; 0 = torch's default, all cores)",
    )
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="folder for latest.json/png")
    a = ap.parse_args()
    repeats = a.repeats or (3 if a.quick else 7)
    comfy_on_path()
    import torch

    from bench import dit_step, encoder_step, graph
    from bench.common import matmul_peak
    from bench.plot import plot

    default_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    started = time.perf_counter()
    rep: dict = {
        "command": " ".join(["python bench/run.py", *sys.argv[1:]]),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "load_before": os.getloadavg(),
            "torch": torch.__version__,
            "threads_items_1235": 1,
            "threads_item_4": a.graph_threads or default_threads,
        },
        "repeats": repeats,
    }
    cases = [dit_step.CASES["small"]] + ([] if a.quick else [dit_step.CASES["wide"]])
    with torch.no_grad():
        if {1, 2} & set(a.items):
            sizes = (1024, 2048) if a.quick else (1024, 2048, 4096)
            threads = tuple(sorted({1, default_threads}))  # per thread: the DiT steps run on one
            peak = matmul_peak(sizes, threads)
            rep["peak_gflops"], rep["peak"] = peak.gflops, {**asdict(peak), "text": str(peak)}
            rep["dit"] = [dit_step.versus_wan(c, repeats, compiled=not a.quick) for c in cases]
            after = matmul_peak(sizes, threads)  # the load may change during the run: both are reported
            rep["peak_gflops_after"], rep["peak_after"] = after.gflops, {**asdict(after), "text": str(after)}
        if 3 in a.items:
            rep["semantic"] = [dit_step.semantic_overhead(c, repeats) for c in cases]
        if 5 in a.items:
            rep["encoder"] = [encoder_step.tiny(ROOT, repeats)] + ([] if a.quick else [encoder_step.real_3b()])
    if 4 in a.items:
        rep["graph"] = graph.run(max(2, repeats // 2) if a.quick else repeats, a.graph_threads or default_threads)
        torch.set_num_threads(1)
    a.out.mkdir(parents=True, exist_ok=True)
    if 6 in a.items:
        rep["swin"] = swin(a.quick, a.out / "swin.json")
        (a.out / "swin.json").unlink()
    rep["machine"]["load_after"] = os.getloadavg()
    rep["seconds"] = time.perf_counter() - started
    (a.out / "latest.json").write_text(json.dumps(rep, indent=1))
    plot(rep, a.out / "latest.png")
    print(
        f"SemanticGen bench ({rep['date']}; torch {torch.__version__}; {os.cpu_count()} cores, load "
        f"{rep['machine']['load_before'][0]:.1f} → {rep['machine']['load_after'][0]:.1f}; medians of {repeats})"
    )
    print(summary(rep))
    if "peak" in rep:  # which size and thread count gave the efficiency reference, and what the others reached
        others = ", ".join(f"{k} {v:.1f}" for k, v in rep["peak"]["measured"].items())
        print(f"matmul peak: {rep['peak']['text']}; n×threads: {others}; after the steps: {rep['peak_after']['text']}")
    if "graph" in rep:
        print()
        print(stages(rep["graph"]))
    if "swin" in rep:
        print()
        print(swin_table(rep["swin"]))
    print(f"\nwrote {a.out / 'latest.json'} and {a.out / 'latest.png'} ({rep['seconds']:.0f} s)")


if __name__ == "__main__":
    main()

"""Writes bench/results.md from the KEY=VALUE figures bench/run.sh collected: the machine, every
measured cell and scenario, and issue 14's targets, each with its ratio and PASS or MISS.
Usage: summary.py FIGURES_FILE"""
import json
import os
import sys

fig = {}
with open(sys.argv[1]) as f:
    for line in f:
        key, sep, value = line.rstrip("\n").partition("=")
        if sep:
            fig[key] = value


def num(key):
    try:
        return float(fig[key])
    except (KeyError, ValueError):
        return None


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


out = []
say = out.append
conc = fig.get("run.concurrency", "").split()
say(f"### Switchyard benchmark ({fig.get('machine.date', '?')})")
say("")
say(f"Machine: {fig.get('machine.cores', '?')} cores ({fig.get('machine.cpu', '?')}), Linux "
    f"{fig.get('machine.kernel', '?')}, nginx {fig.get('machine.nginx', '?')}; load from wrk on the "
    "same machine, upstreams on loopback answering at once. Every ratio below compares figures "
    "measured in this one run.")
targets = fig.get("run.targets", "").split()
if targets:
    say("")
    say(f"{fig.get('run.duration', '?')} s per cell:")
    say("")
    say("| concurrency | target | RPS | p50 ms | p99 ms | added p50 ms | RPS vs nginx hop |")
    say("|---|---|---|---|---|---|---|")
    for c in conc:
        for t in targets:
            rps, p50, p99 = (num(f"cell.{t}.{c}.{k}") for k in ("rps", "p50_ms", "p99_ms"))
            direct = num(f"cell.direct.{c}.p50_ms")
            added = "-" if t == "direct" or p50 is None or direct is None else f"{p50 - direct:.3f}"
            r = ratio(rps, num(f"cell.nginx.{c}.rps"))
            say(f"| {c} | {t} | {rps or 0:.0f} | {p50 or 0:.3f} | {p99 or 0:.3f} | {added} | "
                f"{'-' if r is None else f'{r:.2f}x'} |")
    say("")
    idle, peak = num("rss.idle_kb"), num("rss.peak_kb")
    if idle and peak:
        say(f"Switchyard RSS: idle {idle / 1024:.1f} MiB, peak over all cells {peak / 1024:.1f} MiB "
            f"({fig.get('requests.recorded', '?')} requests recorded by /ui/state).")
    if num("stream.direct.first_ms") is not None:
        say("Streaming (5 chunks, 100 ms apart; medians): first chunk direct "
            f"{num('stream.direct.first_ms'):.2f} ms, through the nginx hop {num('stream.nginx.first_ms'):.2f} ms, "
            f"through Switchyard {num('stream.switchyard.first_ms'):.2f} ms; last chunk "
            f"{num('stream.direct.last_ms'):.1f} / {num('stream.nginx.last_ms'):.1f} / {num('stream.switchyard.last_ms'):.1f} ms.")
    if fig.get("run.baseline"):
        for c in conc:
            say(f"Against BASELINE at concurrency {c}: passthrough RPS "
                f"{ratio(num(f'cell.switchyard.{c}.rps'), num(f'cell.baseline.{c}.rps')):.2f}x, Anthropic "
                f"translation RPS {ratio(num(f'cell.anthropic.{c}.rps'), num(f'cell.baseline-anthropic.{c}.rps')):.2f}x "
                "(this build / BASELINE).")
if "streams.count" in fig:
    n = num("streams.count")
    say("")
    if fig.get("streams.asked") != fig["streams.count"]:
        say(f"Stream scale: {fig.get('streams.asked')} streams asked; this machine's hard limit on open "
            f"files ({fig.get('streams.fd_limit')}, two per stream in the proxy) allows {fig['streams.count']}.")
    say(f"Stream scale: {fig['streams.count']} concurrent streams of {fig['streams.chunks']} chunks, one "
        f"every {fig['streams.interval_ms']} ms, from bench/streamload (one client, one upstream):")
    say("")
    say("| proxy | complete | failed | peak open | first chunk p50 / p99 ms | longest stream s | CPU s |")
    say("|---|---|---|---|---|---|---|")
    for p in ("nginx", "switchyard"):
        say(f"| {p} | {fig.get(f'streams.{p}.complete')} | {fig.get(f'streams.{p}.failed')} | "
            f"{fig.get(f'streams.{p}.peak_open')} | {fig.get(f'streams.{p}.first_chunk_p50_ms')} / "
            f"{fig.get(f'streams.{p}.first_chunk_p99_ms')} | {fig.get(f'streams.{p}.stream_max_s')} | "
            f"{fig.get(f'streams.{p}.cpu_s')} |")
    for p in ("nginx", "switchyard"):
        errors = json.loads(fig.get(f"streams.{p}.errors", "[]"))
        if errors:
            say(f"{p} errors: {'; '.join(errors)}")
    say("")
    if num("streams.nginx.peak_kb"):
        say(f"nginx workers' RSS: idle {num('streams.nginx.idle_kb') / 1024:.1f} MiB, peak "
            f"{num('streams.nginx.peak_kb') / 1024:.1f} MiB: "
            f"{(num('streams.nginx.peak_kb') - num('streams.nginx.idle_kb')) / n:.1f} KiB per open stream "
            f"(Switchyard {(num('streams.switchyard.peak_kb') - num('streams.switchyard.idle_kb')) / n:.1f} KiB).")
    say(f"Switchyard RSS: idle {num('streams.switchyard.idle_kb') / 1024:.1f} MiB, a quarter in "
        f"{num('streams.switchyard.early_kb') / 1024:.1f} MiB, nine tenths in "
        f"{num('streams.switchyard.late_kb') / 1024:.1f} MiB, peak {num('streams.switchyard.peak_kb') / 1024:.1f} MiB.")
if "groups.size" in fig:
    say("")
    say(f"Large groups: a group of {fig['groups.size']} deployments loads (until /health/readiness) in "
        f"{fig['groups.big.load_s']} s, a config of {fig['groups.many']} model groups in "
        f"{fig['groups.many.load_s']} s (RSS {num('groups.many.rss_kb') / 1024:.1f} MiB). RPS:")
    say("")
    say("| concurrency | one deployment | group of " + fig["groups.size"] + " | random group of " + fig["groups.many"] + " |")
    say("|---|---|---|---|")
    for c in conc:
        say(f"| {c} | {fig.get(f'groups.one.rps.{c}')} | {fig.get(f'groups.big.rps.{c}')} | {fig.get(f'groups.many.rps.{c}')} |")

# Issue 14's targets.
rows = []


def target(name, measured, passed, detail):
    rows.append((name, "n/a" if measured is None else measured, "MISS" if not passed else "PASS", detail))


if targets:
    if "1" in conc:
        d, n, s = (num(f"cell.{t}.1.p50_ms") for t in ("direct", "nginx", "switchyard"))
        r = ratio(s - d, n - d) if None not in (d, n, s) and n > d else None
        target("c=1 added p50 <= 1.5x the hop's", f"{r:.2f}x" if r else None, r is not None and r <= 1.5,
               f"added {s - d:.3f} ms vs {n - d:.3f} ms" if r else "")
        r = ratio(num("cell.switchyard.1.p99_ms"), num("cell.nginx.1.p99_ms"))
        target("c=1 p99 <= 2x the hop's", f"{r:.2f}x" if r else None, r is not None and r <= 2.0, "")
    for c in ("16", "64"):
        if c in conc:
            r = ratio(num(f"cell.switchyard.{c}.rps"), num(f"cell.nginx.{c}.rps"))
            target(f"c={c} RPS >= 1.0x the hop's", f"{r:.2f}x" if r else None, r is not None and r >= 1.0, "")
            r = ratio(num(f"cell.switchyard.{c}.p99_ms"), num(f"cell.nginx.{c}.p99_ms"))
            target(f"c={c} p99 <= 1.5x the hop's", f"{r:.2f}x" if r else None, r is not None and r <= 1.5, "")
    peak = num("rss.peak_kb")
    target("peak RSS <= 16 MiB (2 workers)", f"{peak / 1024:.1f} MiB" if peak else None,
           peak is not None and peak <= 16 * 1024, f"idle {num('rss.idle_kb') / 1024:.1f} MiB" if num("rss.idle_kb") else "")
    for t, label in (("anthropic", "Anthropic"), ("gemini", "Gemini")):
        rs = [ratio(num(f"cell.{t}.{c}.rps"), num(f"cell.switchyard.{c}.rps")) for c in conc]
        worst = min((r for r in rs if r is not None), default=None)
        target(f"{label} translation >= 0.9x passthrough RPS", f"{worst:.2f}x" if worst else None,
               worst is not None and worst >= 0.9, "worst of " + ", ".join(f"c={c} {r:.2f}x" for c, r in zip(conc, rs) if r))
    rs = [ratio(num(f"cell.redis-hit.{c}.rps"), num(f"cell.switchyard.{c}.rps")) for c in conc]
    worst = min((r for r in rs if r is not None), default=None)
    target("Redis cache hit >= 2x uncached RPS", f"{worst:.2f}x" if worst else None,
           worst is not None and worst >= 2.0, "worst of " + ", ".join(f"c={c} {r:.2f}x" for c, r in zip(conc, rs) if r))
    r = ratio(num("stream.switchyard.first_ms"), num("stream.nginx.first_ms"))
    target("first streamed chunk <= 1.5x the hop's", f"{r:.2f}x" if r else None, r is not None and r <= 1.5,
           f"{num('stream.switchyard.first_ms'):.2f} ms vs {num('stream.nginx.first_ms'):.2f} ms" if r else "")
if "streams.count" in fig:
    n = num("streams.count")
    ok = fig.get("streams.switchyard.complete") == fig["streams.count"] and fig.get("streams.switchyard.failed") == "0"
    capped = fig.get("streams.asked") != fig["streams.count"]
    target(f"{fig.get('streams.asked')} slow streams all complete, in order", f"{fig.get('streams.switchyard.complete')} of {fig['streams.count']}", ok,
           f"capped at {fig['streams.count']} by the hard limit of {fig.get('streams.fd_limit')} open files" if capped else "")
    per = (num("streams.switchyard.peak_kb") - num("streams.switchyard.idle_kb")) / n
    target("memory per open stream <= 16 KiB above idle", f"{per:.1f} KiB", per <= 16, "")
    growth = (num("streams.switchyard.late_kb") - num("streams.switchyard.early_kb")) / n
    target("memory per stream flat in the answer's length", f"{growth:+.2f} KiB",
           growth <= 1.0, "RSS nine tenths in minus a quarter in, per stream (at most 1 KiB)")
    r = ratio(num("streams.switchyard.cpu_s"), num("streams.nginx.cpu_s"))
    target("stream CPU <= 1.5x the hop's", f"{r:.2f}x" if r else None, r is not None and r <= 1.5,
           f"{fig.get('streams.switchyard.cpu_s')} s vs {fig.get('streams.nginx.cpu_s')} s")
if "groups.size" in fig:
    for t, label in (("big", f"group of {fig['groups.size']}"), ("many", f"config of {fig['groups.many']} groups")):
        rs = [ratio(num(f"groups.{t}.rps.{c}"), num(f"groups.one.rps.{c}")) for c in conc]
        worst = min((r for r in rs if r is not None), default=None)
        target(f"{label} >= 0.9x one deployment's RPS", f"{worst:.2f}x" if worst else None,
               worst is not None and worst >= 0.9, "worst of " + ", ".join(f"c={c} {r:.2f}x" for c, r in zip(conc, rs) if r))
        load = num(f"groups.{t}.load_s")
        target(f"{label} loads in < 0.5 s", f"{load:.3f} s" if load is not None else None, load is not None and load < 0.5, "")
say("")
say("#### Targets (issue 14)")
say("")
say("| target | measured | result | detail |")
say("|---|---|---|---|")
for name, measured, result, detail in rows:
    say(f"| {name} | {measured} | {result} | {detail} |")
passed = sum(1 for r in rows if r[2] == "PASS")
say("")
say(f"{passed} of {len(rows)} targets PASS.")
profile = os.path.join(os.path.dirname(os.path.abspath(__file__)), "profile.md")
if os.path.isfile(profile):
    say("")
    with open(profile) as f:
        say(f.read().rstrip("\n"))
print("\n".join(out))

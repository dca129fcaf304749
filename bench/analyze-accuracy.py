#!/usr/bin/env python3
"""bench/analyze-accuracy.py - how many injected migration faults `hvlab
analyze` detects and attributes (issue 8), driven by
bench/bench-analyze-accuracy.c (and tests/scenario/analyze-accuracy.sh).

    analyze-accuracy.py [--faults N] [--seed S] [--jobs J] [--keep DIR]
                        [--hvlab PATH] [--quiet] [--summary FILE]

Rules:
  A1  Runs: scenarios/migrate-live.hvl (PV, live, verify mode; threads
      mode, or det mode with the run's seed) and
      scenarios/migrate-backend-quiesce.hvl (a driver domain's blkback
      writing through grant mappings), each recorded with --trace and
      --images.  Every faulty run is paired with a clean run of the same
      scenario, mode and seed, with no binding.
  A2  Faults (docs/inject.md), drawn from a seeded RNG, a few per run, one
      binding each (nth=K on its point):
        drop     mig.send.page:skip         a page record left out
        dup      mig.send.page:dup          a page record sent twice
        flip     mig.send.page:flip         one byte of a record turned
        lostmark logdirty.fault.before_set:skip   a guest write's dirty
                                            bit lost, the write goes through
        backend  mig.suspend.quiesce:skip   the backends not quiesced: a
                                            late write through a grant
                                            mapping (backend runs only)
  A3  Ground truth comes from the trace's hvlab_inject:fire events (point,
      action, subject = the pfn) and the stream and destination state, never
      from the analysis: the round a fault hit is the source's round open
      at the firing; a firing in the verify pass changes nothing and is not
      counted.  A fault is HEALED, not counted, when the destination ends
      right anyway:
        drop, flip, lostmark: a later record of the pfn was sent (after the
            firing; for a flip, after the corrupted record itself);
        lostmark also when the verify pass found the pfn equal;
        dup, drop, flip: no effect when the record carried no data (no
            hvlab_mig:recv_page of it followed).
      backend: each pfn the verify pass (hvlab_mig:verify_mismatch) named
      that no other fault of the run explains (a counted fault, or any
      firing inside the verify pass) is one fault, written by the driver
      domain; its round is the pfn's last send.
  A4  detected = some finding (any checker, images included) names the
      fault's domain and pfn.  attributed = such a finding also says
      "round R" for the fault's round and names the writer: for the stream
      faults (drop, dup, flip) the finding's checker is the one named after
      that mechanism (mig.record-dropped, mig.record-duplicated,
      mig.content-corrupted); for lostmark and backend its sentence names
      "domW", the writing domain (the guest itself; the driver domain).
  A5  Clean runs: every finding of any checker counts (goal 0).
"""
import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIVE = "scenarios/migrate-live.hvl"
BACKEND = "scenarios/migrate-backend-quiesce.hvl"
KINDS = ["drop", "dup", "flip", "lostmark", "backend"]
STREAM_CHECKER = {"drop": "mig.record-dropped", "dup": "mig.record-duplicated",
                  "flip": "mig.content-corrupted"}
BINDING = {"drop": "mig.send.page:skip", "dup": "mig.send.page:dup",
           "flip": "mig.send.page:flip",
           "lostmark": "logdirty.fault.before_set:skip",
           "backend": "mig.suspend.quiesce:skip"}
RUN_TIMEOUT = 180                   # s; a run takes 3-10 s
# scenario -> (guest dom, backend dom)
DOMS = {LIVE: (1, None), BACKEND: (2, 1)}

EV = re.compile(r'^\[[^\]]*\] \(\+[^)]*\) \S+ (hvlab_\w+:\w+): \{[^}]*\}, '
                r'\{[^}]*\}, \{ (.*) \}$')
FIELD = re.compile(r'(\w+) = (\( "(\w+)" : container = \d+ \)|"[^"]*"|[^,]+)')


def fields(s):
    out = {}
    for m in FIELD.finditer(s):
        k, v = m.group(1), m.group(2)
        if m.group(3):
            out[k] = m.group(3)
        elif v.startswith('"'):
            out[k] = v.strip('"')
        else:
            try:
                out[k] = int(v, 0)
            except ValueError:
                out[k] = v
    return out


def read_trace(tr):
    """The events the ground truth needs, in trace order."""
    want = ("hvlab_inject:fire", "hvlab_mig:round_begin", "hvlab_mig:send_page",
            "hvlab_mig:recv_page", "hvlab_mig:verify_mismatch")
    p = subprocess.run(["babeltrace2", tr], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
    evs = []
    for i, line in enumerate(p.stdout.splitlines()):
        if "hvlab_inject:fire" not in line and "hvlab_mig:" not in line:
            continue
        m = EV.match(line)
        if not m or m.group(1) not in want:
            continue
        f = fields(m.group(2))
        f["_ev"] = m.group(1)
        f["_i"] = i
        evs.append(f)
    return evs


def ground_truth(evs, scen, kinds_bound):
    """A3: the faults of one run: dicts kind, pfn, round, writer, status."""
    guest, backend = DOMS[scen]
    src = None
    for e in evs:
        if e["_ev"] == "hvlab_mig:send_page" and e["dom"] == guest:
            src = e["host"]
            break
    cur = (-1, 0)                       # (iter, final) of the source
    sends = {}                          # pfn -> [(i, iter, hash)] non-verify
    recvs = {}                          # pfn -> [i] non-verify
    mismatch = set()
    fires = []
    for e in evs:
        ev = e["_ev"]
        if ev == "hvlab_mig:round_begin" and e["host"] == src and e["dom"] == guest:
            cur = (e["iter"], e["final"])
        elif ev == "hvlab_mig:send_page" and e["host"] == src and e["dom"] == guest:
            if cur[1] != 2:
                sends.setdefault(e["pfn"], []).append((e["_i"], e["iter"], e["hash"]))
        elif ev == "hvlab_mig:recv_page" and e["host"] != src and e["dom"] == guest:
            if not e["verify"]:
                recvs.setdefault(e["pfn"], []).append(e["_i"])
        elif ev == "hvlab_mig:verify_mismatch" and e["dom"] == guest:
            mismatch.add(e["pfn"])
        elif ev == "hvlab_inject:fire":
            fires.append((e, cur))
    faults = []
    for e, (it, final) in fires:
        point, act, pfn, i = e["point"], e["action"], e["subject"], e["_i"]
        kind = {("mig.send.page", "skip"): "drop", ("mig.send.page", "dup"): "dup",
                ("mig.send.page", "flip"): "flip",
                ("logdirty.fault.before_set", "skip"): "lostmark"}.get((point, act))
        if kind is None:
            continue
        f = {"kind": kind, "pfn": pfn, "round": it, "writer": None,
             "status": "counted"}
        later = [s for s in sends.get(pfn, []) if s[0] > i]
        if kind != "lostmark" and final == 2:
            f["status"] = "verify-pass"
        elif kind == "drop":
            if later:
                f["status"] = "healed"
            elif not recvs.get(pfn) and not mismatch & {pfn} and \
                    not [s for s in sends.get(pfn, []) if s[0] < i]:
                # never arrived, never sent: a page with no data or a
                # page equal to a fresh one; the stream still lacks it
                pass
        elif kind == "dup":
            if not [r for r in recvs.get(pfn, []) if r > i]:
                f["status"] = "no-data"
        elif kind == "flip":
            own = later[:1]
            if not own or own[0][2] == 0:
                f["status"] = "no-data"
            elif later[1:]:
                f["status"] = "healed"
        elif kind == "lostmark":
            before = [s for s in sends.get(pfn, []) if s[0] < i]
            f["writer"] = e["dom"]
            f["round"] = before[-1][1] if before else -1
            if later or pfn not in mismatch:
                f["status"] = "healed"
        faults.append(f)
    if "backend" in kinds_bound:
        # a record corrupted in the verify pass makes the comparison fail
        # too: that pfn is no backend write
        explained = {f["pfn"] for f in faults
                     if f["status"] in ("counted", "verify-pass")}
        for pfn in sorted(mismatch - explained):
            s = sends.get(pfn, [])
            faults.append({"kind": "backend", "pfn": pfn,
                           "round": s[-1][1] if s else -1, "writer": backend,
                           "status": "counted"})
    return faults


def findings_of(js):
    d = json.loads(js)
    a = d.get("analysis", d)
    return a["findings"], a.get("total", len(a["findings"]))


def as_int(v):
    if v is None:
        return None
    return v if isinstance(v, int) else int(v, 0)


def judge(f, findings, guest):
    """A4: (detected, attributed) for one fault."""
    mine = [x for x in findings if as_int(x.get("pfn")) == f["pfn"] and
            as_int(x.get("dom", guest)) == guest]
    if not mine:
        return False, False
    rnd = re.compile(r'\bround %d\b' % f["round"])
    for x in mine:
        if not rnd.search(x["what"]):
            continue
        if f["kind"] in STREAM_CHECKER:
            if x["checker"] == STREAM_CHECKER[f["kind"]]:
                return True, True
        elif re.search(r'\bdom%d\b' % f["writer"], x["what"]):
            return True, True
    return True, False


class Runner:
    def __init__(self, hvlab, tmp, keep):
        self.hvlab, self.tmp, self.keep = hvlab, tmp, keep

    def run(self, name, scen, args, bindings):
        d = os.path.join(self.tmp, name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(os.path.join(d, "img"))
        cmd = [self.hvlab, "run", scen, "--trace", os.path.join(d, "tr"),
               "--images", os.path.join(d, "img")] + args
        for b in bindings:
            cmd += ["--inject", b]
        try:
            r = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True,
                               timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            return {"name": name, "scen": scen, "rc": -1, "out": "",
                    "bindings": bindings,
                    "error": "the run hung (killed after %d s)" % RUN_TIMEOUT}
        out = r.stdout
        res = {"name": name, "scen": scen, "rc": r.returncode, "out": out,
               "bindings": bindings}
        if "migrated: held" not in out:
            res["error"] = "the migration did not complete"
            return res
        a = subprocess.run([self.hvlab, "analyze", os.path.join(d, "tr"), "--json",
                            "--images", os.path.join(d, "img", "source-final.img"),
                            os.path.join(d, "img", "dest-restored.img")],
                           cwd=ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        try:
            res["findings"], res["total"] = findings_of(a.stdout)
        except (ValueError, KeyError):
            res["error"] = "analyze: exit %d: %s" % (a.returncode, a.stderr[:300])
            return res
        if bindings:
            res["evs"] = read_trace(os.path.join(d, "tr"))
        if not self.keep:
            shutil.rmtree(d, ignore_errors=True)
        return res


def plan(rng, k0, pairs):
    """A1, A2: `pairs` (name, scenario, args, bindings) pairs, faulty then
    clean, numbered from k0."""
    runs = []
    for k in range(k0, k0 + pairs):
        # every third run is the backend one, alternately in threads mode
        # (where the late writes land after the final round's reads) and
        # det mode
        scen = BACKEND if k % 3 == 1 else LIVE
        seed = rng.randrange(1, 1 << 30)
        args = ["--seed", str(seed)]
        det = k % 2 == 1 if scen == LIVE else k % 6 == 4
        if det:
            args += ["--sched", "det"]
        b = []
        for _ in range(rng.randint(12, 20)):
            kind = rng.choice(["drop", "dup", "flip", "lostmark", "lostmark"])
            if kind == "lostmark":
                # the guest's write faults: most come in round 0 and heal;
                # the last ones (after the last live CLEAN) do not: det
                # runs take ~40 of them, threads runs ~200
                nth = rng.randint(1, 40) if det else rng.randint(150, 230)
                b.append("%s,nth=%d,dom=%d" % (BINDING[kind], nth, DOMS[scen][0]))
            else:
                # round 0 sends 4096 pfns; later rounds tens to a few hundred
                nth = rng.randint(1, 4096) if rng.random() < 0.6 else \
                    rng.randint(4097, 4250)
                b.append("%s,nth=%d" % (BINDING[kind], nth))
        if scen == BACKEND:
            b.append(BINDING["backend"])
        runs.append(("f%03d" % k, scen, args, b))
        runs.append(("c%03d" % k, scen, args, []))
    return runs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--faults", type=int,
                    default=int(os.environ.get("BENCH_ACC_FAULTS", "1000")))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--keep", default=None)
    ap.add_argument("--hvlab", default=os.path.join(
        ROOT, os.environ.get("BUILD", "build"), "hvlab"))
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--summary", default=None,
                    help="write the table and figures as JSON to this file")
    o = ap.parse_args()
    t0 = time.time()
    tmp = o.keep or tempfile.mkdtemp(prefix="hvlab-acc.")
    os.makedirs(tmp, exist_ok=True)
    rng = random.Random(o.seed)
    r = Runner(o.hvlab, tmp, o.keep is not None)
    table = {k: {"bound": 0, "counted": 0, "healed": 0, "detected": 0,
                 "attributed": 0} for k in KINDS}
    st = {"clean_findings": 0, "clean_runs": 0, "failed": 0, "pairs": 0}
    misses = []
    # batches of migrations until N faults are counted (A3: healed ones
    # are not), or 4 N were fired
    with ThreadPoolExecutor(max_workers=max(1, o.jobs)) as ex:
        while sum(t["counted"] for t in table.values()) < o.faults and \
                sum(t["bound"] for t in table.values()) < 4 * o.faults:
            left = o.faults - sum(t["counted"] for t in table.values())
            pairs = max(2, min(16, left // 6 + 1))
            runs = plan(rng, st["pairs"], pairs)
            st["pairs"] += pairs
            judge_all(list(ex.map(lambda a: r.run(*a), runs)), table, st,
                      misses, o.quiet)
    if not o.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    clean_findings, clean_runs, failed = \
        st["clean_findings"], st["clean_runs"], st["failed"]
    report(o, table, clean_findings, clean_runs, failed, misses,
           st["pairs"], t0)
    return 0


def judge_all(results, table, st, misses, quiet):
    """A3-A5 over one batch of runs."""
    for res in results:
        if "error" in res:
            st["failed"] += 1
            if not quiet:
                print("# %s (%s %s): %s" % (res["name"], res["scen"],
                                            " ".join(res["bindings"]), res["error"]))
            continue
        if not res["bindings"]:
            st["clean_runs"] += 1
            st["clean_findings"] += res["total"]
            if res["total"] and not quiet:
                for x in res["findings"][:5]:
                    print("# clean %s: %s: %s" % (res["name"], x["checker"], x["what"][:200]))
            continue
        kinds = {k for k in KINDS if any(b.startswith(BINDING[k]) for b in res["bindings"])}
        for f in ground_truth(res["evs"], res["scen"], kinds):
            t = table[f["kind"]]
            t["bound"] += 1
            if f["status"] != "counted":
                t["healed"] += 1
                continue
            t["counted"] += 1
            det, att = judge(f, res["findings"], DOMS[res["scen"]][0])
            t["detected"] += det
            t["attributed"] += att
            if not att:
                misses.append((res["name"], f, det,
                               [x["checker"] + ": " + x["what"][:160]
                                for x in res["findings"]
                                if as_int(x.get("pfn")) == f["pfn"]][:3]))


def report(o, table, clean_findings, clean_runs, failed, misses, pairs, t0):
    if not o.quiet:
        for name, f, det, why in misses[:20]:
            print("# %s %s: %s pfn %#x round %d writer %s; %s" % (
                "not attributed" if det else "missed", name, f["kind"], f["pfn"],
                f["round"], f["writer"], " | ".join(why) or "no finding names it"))
    print("%-10s %8s %8s %8s %9s %11s" % ("kind", "fired", "healed", "faults",
                                           "detected", "attributed"))
    tot = {"counted": 0, "detected": 0, "attributed": 0, "healed": 0, "bound": 0}
    for k in KINDS:
        t = table[k]
        for x in tot:
            tot[x] += t[x]
        print("%-10s %8d %8d %8d %9d %11d" % (k, t["bound"], t["healed"],
                                            t["counted"], t["detected"], t["attributed"]))
    print("%-10s %8d %8d %8d %9d %11d" % ("all", tot["bound"], tot["healed"],
                                        tot["counted"], tot["detected"], tot["attributed"]))
    n = tot["counted"]
    pct = lambda x: 100.0 * x / n if n else 0.0
    el = time.time() - t0
    print("figure mig_faults_detected_pct: %.1f %%   goal >= 99   %d of %d faults "
          "(%d fired, %d healed), %d faulty runs" % (pct(tot["detected"]),
          tot["detected"], n, tot["bound"], tot["healed"], pairs))
    print("figure mig_faults_attributed_pct: %.1f %%   goal >= 95   right pfn, "
          "round and writer" % pct(tot["attributed"]))
    print("figure mig_clean_findings: %d findings   goal 0   over %d clean "
          "migrations" % (clean_findings, clean_runs))
    if o.summary:
        with open(o.summary, "w") as fh:
            json.dump({"kinds": table, "clean_findings": clean_findings,
                       "clean_runs": clean_runs, "failed_runs": failed,
                       "counted": n, "detected": tot["detected"],
                       "attributed": tot["attributed"]}, fh)
    print("figure mig_faults_counted: %d faults   [BENCH_ACC_FAULTS=%d, "
          "%d runs did not migrate, %.0f s]" % (n, o.faults, failed, el))


if __name__ == "__main__":
    sys.exit(main())

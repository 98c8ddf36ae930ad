/**
 * A second, deliberately naive reading of BACKTEST.md — nodes as objects,
 * samples looked up by scanning, no shared code with lib/sim — used to check
 * that the backtest's files can be re-scored from the protocol alone.
 */
export interface Rescored {
  cost: number;
  unserved_fraction: number;
  violation_minutes: number;
  launches: number;
  actions: number;
}

export function naiveMinuteDemand(csv: string): { demand: number[] } {
  const rows = csv.trim().split('\n').slice(1).map((line) => {
    const [ts, value] = line.split(',');
    return { t: Date.parse(`${ts!.replace(' ', 'T')}Z`), v: Number(value) };
  });
  const t0 = Math.floor(rows[0]!.t / 60000) * 60000;
  const gaps = rows.slice(1).map((r, i) => r.t - rows[i]!.t).sort((a, b) => a - b);
  const mid = Math.floor(gaps.length / 2);
  const median = gaps.length % 2 ? gaps[mid]! : (gaps[mid - 1]! + gaps[mid]!) / 2;
  const end = rows[rows.length - 1]!.t + median;
  const demand: number[] = [];
  for (let m = 0; t0 + m * 60000 < end; m++) {
    const at = t0 + m * 60000;
    let value = rows[0]!.v;
    for (const r of rows) if (r.t <= at) value = r.v;
    demand.push(value);
  }
  return { demand };
}

export function naiveScore(demand: number[], decisionsCsv: string, C: number, B: number, P: number, S: number): Rescored {
  const decisions = decisionsCsv.trim().split('\n').slice(1).map((line) => line.split(',').map(Number) as [number, number]);
  let nodes: { launched: number }[] = [];
  const initial = Math.max(1, Math.ceil(demand[S]! / C));
  for (let i = 0; i < initial; i++) nodes.push({ launched: -1e9 });
  let cost = 0;
  let unserved = 0;
  let total = 0;
  let violations = 0;
  let launches = 0;
  let actions = 0;
  let previous = initial;
  for (const [minute, want] of decisions) {
    if (want !== previous) actions++;
    previous = want;
    if (want > nodes.length) {
      const add = want - nodes.length;
      for (let i = 0; i < add; i++) nodes.push({ launched: minute });
      launches += add;
    } else {
      nodes = nodes.slice(0, want);
    }
    const ready = nodes.filter((n) => n.launched + B <= minute).length;
    const u = Math.max(0, demand[minute]! - ready * C);
    if (u > 0) violations++;
    unserved += u;
    total += demand[minute]!;
    cost += (nodes.length * P) / 60;
  }
  return { cost, unserved_fraction: unserved / total, violation_minutes: violations, launches, actions };
}

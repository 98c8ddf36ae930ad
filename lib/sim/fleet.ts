/**
 * Node physics of BACKTEST.md: scale-out launches nodes that serve `bootMinutes`
 * later; scale-in terminates the newest first (booting before ready) at once;
 * every live node is billed per minute from launch to termination.
 */
export class Fleet {
  /** Launch minute of each live node, oldest first (non-decreasing). */
  private readonly launchMinutes: number[] = [];
  private launchedCount = 0;

  constructor(
    readonly bootMinutes: number,
    initialReadyNodes: number,
  ) {
    for (let i = 0; i < initialReadyNodes; i++) this.launchMinutes.push(Number.NEGATIVE_INFINITY);
  }

  get aliveNodes(): number {
    return this.launchMinutes.length;
  }

  /** Nodes launched so far (initial nodes excluded). */
  get launches(): number {
    return this.launchedCount;
  }

  /** Launches or terminates so that `desiredNodes` are alive at `minute`. */
  setDesired(minute: number, desiredNodes: number): void {
    while (this.launchMinutes.length < desiredNodes) {
      this.launchMinutes.push(minute);
      this.launchedCount++;
    }
    if (this.launchMinutes.length > desiredNodes) this.launchMinutes.length = Math.max(0, desiredNodes);
  }

  /** Nodes that serve at `minute`: launched at or before `minute - bootMinutes`. */
  readyNodes(minute: number): number {
    const readyIfLaunchedBy = minute - this.bootMinutes;
    let low = 0;
    let high = this.launchMinutes.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.launchMinutes[mid]! <= readyIfLaunchedBy) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}

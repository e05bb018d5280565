import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { DeliveryStore } from "../../store/store.js";

/**
 * Leases: work that one node at a time does (a destination's delivery, a cluster duty) is done by
 * the holder of a row in `leases`, taken by one conditional statement (the equivalent of
 * `FOR UPDATE SKIP LOCKED`: whoever loses does not wait, it looks again later). A holder renews
 * while it works; one that dies lets it lapse after LEASE_MS, and another node takes over. Times
 * are the holders' own clocks: nodes whose clocks differ by more than a lease may both deliver
 * (twice, never not at all).
 */

/**
 * A new holder's name: host, process id, and a random part (a pid is reused; and two nodes in one
 * process, as tests run them, or a worker and the one replacing it, are holders of their own).
 */
export const newHolder = () => `${hostname()}/${process.pid}/${randomBytes(4).toString("hex")}`;

/** How long a lease lasts without renewal: a dead holder's work resumes elsewhere within it. */
export const LEASE_MS = 10_000;

/**
 * Frees the leases of processes of this host that are gone (a SIGKILL, a crash): the restarted
 * node takes its work back at once instead of waiting for them to lapse.
 */
export async function freeLeasesOfDeadProcesses(store: DeliveryStore): Promise<void> {
  const host = hostname();
  for (const { name, holder } of await store.leases()) {
    const [holderHost, pid] = holder.split("/");
    if (holderHost !== host || isRunning(Number(pid))) continue;
    await store.releaseLease(name, holder);
  }
}

function isRunning(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return true; // not ours to judge
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * A duty of the cluster (the bus-factor warning, device reminders): done by one node at a time.
 * The lease keeps two nodes from deciding at once; what was decided is stored after its audit
 * entry and event are committed, so a crash in between repeats a notice and never loses one.
 */
export class ClusterDuty {
  private readonly lease: string;
  private readonly holder = newHolder();
  /** A run under way here: another one on this node at the same moment does nothing. */
  private busy = false;

  constructor(
    private readonly store: DeliveryStore,
    name: string,
  ) {
    this.lease = `duty:${name}`;
  }

  /** Runs `work` if no other node is doing this duty now; false if one is. */
  async run(work: () => Promise<void>): Promise<boolean> {
    if (this.busy) return false;
    this.busy = true;
    try {
      const now = Date.now();
      if (!(await this.store.claimLease(this.lease, this.holder, now, now + LEASE_MS))) return false;
      try {
        await work();
      } finally {
        await this.store.releaseLease(this.lease, this.holder).catch(() => undefined);
      }
      return true;
    } finally {
      this.busy = false;
    }
  }
}

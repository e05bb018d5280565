import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { lookup } from "node:dns/promises";
import { connect, type Socket } from "node:net";
import { hostname } from "node:os";
import { type AuditEntry, auditLine } from "../../../core/audit-chain.js";
import type { SinkTransport } from "../../delivery/transport.js";
import { FACILITY_CODES, type SyslogOptions } from "./sink-config.js";

const SEVERITY_NOTICE = 5;
const SEVERITY_INFO = 6;

/**
 * An RFC 5424 message: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID audit - MSG`, MSG being exactly
 * the entry's `auditLine` (UTF-8, no BOM). Severity is notice for denied and failed outcomes, so a
 * collector can alert on them alone; info otherwise. TIMESTAMP is the entry's own time.
 */
export function syslogMessage(entry: AuditEntry, options: SyslogOptions): string {
  const severity = entry.outcome === "allowed" ? SEVERITY_INFO : SEVERITY_NOTICE;
  const pri = (FACILITY_CODES[options.facility] ?? 10) * 8 + severity;
  return `<${pri}>1 ${entry.time} ${HOSTNAME} ${options.app_name} ${process.pid} audit - ${auditLine(entry)}`;
}

/** RFC 5424 HOSTNAME: printable ASCII, at most 255, "-" when unknown. */
const HOSTNAME =
  hostname()
    .replace(/[^\x21-\x7e]/g, "-")
    .slice(0, 255) || "-";

/** UDP: one datagram per entry; delivered means sent (UDP has no acknowledgement). */
export class UdpSyslogSink implements SinkTransport {
  private socket: { udp: UdpSocket; address: string } | null = null;
  private closed = false;

  constructor(private readonly options: SyslogOptions) {}

  async send(entries: AuditEntry[]): Promise<void> {
    if (this.closed) throw new Error("the syslog sink is closed");
    const { udp, address } = await this.open();
    try {
      for (const entry of entries) {
        const message = Buffer.from(syslogMessage(entry, this.options), "utf8");
        await new Promise<void>((resolve, reject) =>
          udp.send(message, this.options.port, address, (error) => (error ? reject(error) : resolve())),
        );
      }
    } catch (error) {
      this.release(); // the host's address is looked up again next time
      throw error;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.release();
  }

  private async open(): Promise<{ udp: UdpSocket; address: string }> {
    if (this.socket) return this.socket;
    const { address, family } = await lookup(this.options.host);
    const udp = createSocket(family === 6 ? "udp6" : "udp4");
    udp.on("error", () => this.release());
    udp.unref();
    this.socket = { udp, address };
    return this.socket;
  }

  private release(): void {
    const udp = this.socket?.udp;
    this.socket = null;
    try {
      udp?.close();
    } catch {
      // already closed by its error
    }
  }
}

/**
 * TCP with octet-counting framing (RFC 6587: `LENGTH SP MESSAGE`, length in bytes). Delivered
 * means written to the socket; a dropped connection is opened again on the next send.
 */
export class TcpSyslogSink implements SinkTransport {
  private socket: Socket | null = null;
  private closed = false;

  constructor(private readonly options: SyslogOptions) {}

  async send(entries: AuditEntry[]): Promise<void> {
    const socket = await this.connect();
    const frames = entries.map((entry) => {
      const message = Buffer.from(syslogMessage(entry, this.options), "utf8");
      return Buffer.concat([Buffer.from(`${message.length} `, "ascii"), message]);
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`the collector took no data for ${this.options.timeout_ms} ms`));
      }, this.options.timeout_ms);
      socket.write(Buffer.concat(frames), (error) => {
        clearTimeout(timer);
        if (error) {
          socket.destroy();
          reject(error);
        } else resolve();
      });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.socket?.destroy();
    this.socket = null;
  }

  private connect(): Promise<Socket> {
    if (this.closed) return Promise.reject(new Error("the syslog sink is closed"));
    const current = this.socket;
    if (current && !current.destroyed && current.writable) return Promise.resolve(current);
    return new Promise((resolve, reject) => {
      const socket = connect({ host: this.options.host, port: this.options.port });
      socket.setTimeout(this.options.timeout_ms, () =>
        socket.destroy(new Error(`connecting timed out after ${this.options.timeout_ms} ms`)),
      );
      socket.once("connect", () => {
        socket.setTimeout(0);
        socket.setKeepAlive(true, 30_000);
        socket.unref();
        this.socket = socket;
        resolve(socket);
      });
      socket.on("error", reject); // after connecting: the next write fails and connects again
      socket.on("close", () => {
        if (this.socket === socket) this.socket = null;
      });
      socket.on("data", () => undefined); // a collector has nothing to say; read it so it cannot stall
    });
  }
}

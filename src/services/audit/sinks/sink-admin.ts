import type { AuditAction } from "../../../core/audit-actions.js";
import { type Clock, isoTime } from "../../../core/clock.js";
import { badInput, conflict, notFound } from "../../../core/errors.js";
import type { Store } from "../../../store/store.js";
import type { RequestContext } from "../../context.js";
import type { SecretBox } from "../../seal/secret-box.js";
import type { AuditLog } from "../audit-log.js";
import { checkSinkName, parseSinkSpec, SECRET_OPTIONS, type SinkSpec } from "./sink-config.js";
import { type AuditSinkManager, type SinkSource, sinkSecretAad } from "./sink-manager.js";

/** A sink as the API shows it: never a secret, only which secret options are set. */
export interface SinkView {
  name: string;
  type: string;
  description: string;
  options: Record<string, unknown>;
  required: boolean;
  source: SinkSource;
  secrets: string[];
  updatedAt: string | null;
}

const target = (name: string) => `audit/sinks/${name}`;

/**
 * Configuring audit sinks (root only, `audit.configure`). Every read and change is on the chain;
 * a change is recorded before it is stored, and applies on this node before the answer leaves
 * (on the other nodes within SINK_REFRESH_MS).
 */
export class AuditSinkService {
  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
    private readonly audit: AuditLog,
    private readonly manager: AuditSinkManager,
    private readonly clock: Clock,
  ) {}

  async list(ctx: RequestContext): Promise<SinkView[]> {
    await this.audit.record(ctx, { action: "audit.sink.read", target: "audit/sinks", outcome: "allowed" });
    return this.views();
  }

  async read(name: string, ctx: RequestContext): Promise<SinkView> {
    checkSinkName(name);
    await this.audit.record(ctx, { action: "audit.sink.read", target: target(name), outcome: "allowed" });
    const view = (await this.views()).find((sink) => sink.name === name);
    if (!view) throw notFound(`no audit sink named ${name}`);
    return view;
  }

  /** Creates or replaces a sink (the whole of it: an omitted authorization is no authorization). */
  async write(name: string, input: unknown, ctx: RequestContext): Promise<void> {
    checkSinkName(name);
    const parsed = parseSinkSpec(name, input);
    if (!parsed.spec) throw badInput(parsed.problems.join("; "));
    await this.refuseConfigSink(name, "audit.sink.write", ctx);
    const { spec } = parsed;
    const sealed =
      spec.authorization === null
        ? null
        : this.box.sealSecret(Buffer.from(spec.authorization, "utf8"), sinkSecretAad(name));
    await this.audit.record(ctx, {
      action: "audit.sink.write",
      target: target(name),
      outcome: "allowed",
      details: {
        type: spec.type,
        required: spec.required,
        options: JSON.stringify(spec.options),
        authorization: spec.authorization !== null,
      },
    });
    await this.store.putAuditSink({
      name,
      type: spec.type,
      description: spec.description,
      options: spec.options,
      required: spec.required,
      secretCiphertext: sealed?.ciphertext ?? null,
      keyVersion: sealed?.keyVersion ?? null,
      updatedAt: isoTime(this.clock),
    });
    await this.manager.refresh();
  }

  /** As Vault's audit devices: deleting a sink that does not exist is not an error. */
  async delete(name: string, ctx: RequestContext): Promise<void> {
    checkSinkName(name);
    await this.refuseConfigSink(name, "audit.sink.delete", ctx);
    await this.audit.record(ctx, { action: "audit.sink.delete", target: target(name), outcome: "allowed" });
    const record = (await this.store.listAuditSinks()).find((sink) => sink.name === name);
    await this.store.deleteAuditSink(name);
    await this.manager.removed(name, record);
  }

  private async refuseConfigSink(name: string, action: AuditAction, ctx: RequestContext): Promise<void> {
    if (!this.manager.configSinks.some((sink) => sink.name === name)) return;
    await this.audit.record(ctx, {
      action,
      target: target(name),
      outcome: "denied",
      details: { problem: "defined in the config file" },
    });
    throw conflict(
      `audit sink ${name} is defined in the server's config file: change it there and restart the server`,
    );
  }

  private async views(): Promise<SinkView[]> {
    const fromConfig = this.manager.configSinks.map((spec) => viewOf(spec, "config", null));
    const configNames = new Set(fromConfig.map((view) => view.name));
    const stored = (await this.store.listAuditSinks())
      .filter((record) => !configNames.has(record.name))
      .map((record) => ({
        name: record.name,
        type: record.type,
        description: record.description,
        options: withoutSecrets(record.options),
        required: record.required,
        source: "api" as const,
        secrets: record.secretCiphertext === null ? [] : ["authorization"],
        updatedAt: record.updatedAt,
      }));
    return [...fromConfig, ...stored].sort((a, b) => a.name.localeCompare(b.name));
  }
}

function viewOf(spec: SinkSpec, source: SinkSource, updatedAt: string | null): SinkView {
  return {
    name: spec.name,
    type: spec.type,
    description: spec.description,
    options: withoutSecrets(spec.options),
    required: spec.required,
    source,
    secrets: spec.authorization === null ? [] : ["authorization"],
    updatedAt,
  };
}

/** Options are stored without secrets already; this keeps a hand-edited row from showing one. */
function withoutSecrets(options: Record<string, unknown>): Record<string, unknown> {
  const shown = { ...options };
  for (const key of SECRET_OPTIONS) delete shown[key];
  return shown;
}

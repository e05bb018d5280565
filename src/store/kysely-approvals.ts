import type { Kysely, Selectable } from "kysely";
import { type ApprovalTable, type Database, flag } from "./schema.js";
import type { AccessRuleRecord, ApprovalRecord, ApprovalStore } from "./store.js";

/** Access rules and approval requests, on either engine. */
export class KyselyApprovalStore implements ApprovalStore {
  constructor(private readonly db: Kysely<Database>) {}

  async findRule(keyName: string): Promise<AccessRuleRecord | null> {
    const row = await this.db
      .selectFrom("access_rules")
      .selectAll()
      .where("key_name", "=", keyName)
      .executeTakeFirst();
    if (!row) return null;
    return {
      keyName: row.key_name,
      readers: JSON.parse(row.readers),
      approvers: JSON.parse(row.approvers),
      approvalsRequired: row.approvals_required,
      requireReason: row.require_reason === 1,
      approvalTtlSeconds: row.approval_ttl_seconds,
      notify: JSON.parse(row.notify),
      stepUp: row.step_up === 1,
      approverStepUp: row.approver_step_up === 1,
      updatedAt: row.updated_at,
    };
  }

  async putRule(rule: AccessRuleRecord): Promise<void> {
    const row = {
      key_name: rule.keyName,
      readers: JSON.stringify(rule.readers),
      approvers: JSON.stringify(rule.approvers),
      approvals_required: rule.approvalsRequired,
      require_reason: flag(rule.requireReason),
      approval_ttl_seconds: rule.approvalTtlSeconds,
      notify: JSON.stringify(rule.notify),
      step_up: flag(rule.stepUp),
      approver_step_up: flag(rule.approverStepUp),
      updated_at: rule.updatedAt,
    };
    await this.db
      .insertInto("access_rules")
      .values(row)
      .onConflict((oc) => oc.column("key_name").doUpdateSet(row))
      .execute();
  }

  async deleteRule(keyName: string): Promise<void> {
    await this.db.deleteFrom("access_rules").where("key_name", "=", keyName).execute();
  }

  async insertApproval(approval: ApprovalRecord): Promise<void> {
    await this.db.insertInto("approvals").values(approvalRow(approval)).execute();
  }

  async findApproval(id: string): Promise<ApprovalRecord | null> {
    const row = await this.db.selectFrom("approvals").selectAll().where("id", "=", id).executeTakeFirst();
    return row ? approvalFromRow(row) : null;
  }

  async listApprovals(status: ApprovalRecord["status"] | null): Promise<ApprovalRecord[]> {
    let query = this.db.selectFrom("approvals").selectAll().orderBy("created_at", "desc").limit(1000);
    if (status) query = query.where("status", "=", status);
    return (await query.execute()).map(approvalFromRow);
  }

  async updateApproval(previous: ApprovalRecord, next: ApprovalRecord): Promise<boolean> {
    // Optimistic: two approvers deciding at once cannot overwrite each other's vote.
    const row = approvalRow(next);
    const result = await this.db
      .updateTable("approvals")
      .set({ status: row.status, votes: row.votes, expires_at: row.expires_at })
      .where("id", "=", previous.id)
      .where("status", "=", previous.status)
      .where("votes", "=", JSON.stringify(previous.votes))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}

function approvalRow(approval: ApprovalRecord): ApprovalTable {
  return {
    id: approval.id,
    key_name: approval.keyName,
    requester: approval.requester,
    reason: approval.reason,
    status: approval.status,
    approvals_required: approval.approvalsRequired,
    votes: JSON.stringify(approval.votes),
    created_at: approval.createdAt,
    expires_at: approval.expiresAt,
  };
}

function approvalFromRow(row: Selectable<ApprovalTable>): ApprovalRecord {
  return {
    id: row.id,
    keyName: row.key_name,
    requester: row.requester,
    reason: row.reason,
    status: row.status,
    approvalsRequired: row.approvals_required,
    votes: JSON.parse(row.votes),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}

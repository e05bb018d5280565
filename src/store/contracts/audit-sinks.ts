/** Where audit entries are copied to, besides the chain. */
export interface AuditSinkStore {
  listAuditSinks(): Promise<AuditSinkRecord[]>;
  /** Creates or replaces a sink's configuration. */
  putAuditSink(sink: AuditSinkRecord): Promise<void>;
  deleteAuditSink(name: string): Promise<boolean>;
}

export interface AuditSinkRecord {
  name: string;
  type: string;
  description: string;
  options: Record<string, unknown>;
  required: boolean;
  secretCiphertext: Buffer | null;
  keyVersion: number | null;
  updatedAt: string;
}

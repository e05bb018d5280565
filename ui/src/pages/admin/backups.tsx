import { Page } from "../../components/page.js";

/**
 * Backups: a download of GET /v1/sys/backup (the session cookie goes with a plain link), and what
 * the file is good for. Verifying and restoring are CLI work: a restore needs an uninitialised server.
 */
export function Backups(_props: { params: Record<string, string> }) {
  const fileName = `breakglass-${new Date().toISOString().slice(0, 10)}.bgbackup`;
  return (
    <Page title="Backups">
      <section aria-labelledby="backup-download-heading">
        <h2 id="backup-download-heading">Make a backup now</h2>
        <p>
          <a class="button" href="/v1/sys/backup" download={fileName}>
            Download a backup
          </a>
        </p>
        <p class="hint">
          Making a backup goes on the audit log. If the server refuses (the session is not an admin, or it is
          sealed), the download holds its reason instead of a backup.
        </p>
      </section>
      <section aria-labelledby="backup-holds-heading">
        <h2 id="backup-holds-heading">What it holds</h2>
        <p>
          One file with everything breakglass stores: credentials (their seeds still sealed), tokens (as
          HMACs), people, groups, access rules, approvals, notification channels, custodians and the whole
          audit log. It is encrypted and signed by the vault's audit key.
        </p>
        <p class="notice notice-warning">
          It opens only with a quorum of the unseal key shares current now. After a rekey, older backups still
          need the old shares: keep the old shares as long as the backups made with them, or destroy both
          together.
        </p>
      </section>
      <section aria-labelledby="backup-cli-heading">
        <h2 id="backup-cli-heading">Verify and restore (CLI)</h2>
        <p>Check that a file is whole and was made by this vault, without a server and without shares:</p>
        <pre class="command">
          <code>breakglass backup verify FILE --public-key audit.pem</code>
        </pre>
        <p>
          Restore into a new, <strong>uninitialised</strong> server of the same breakglass version, then
          unseal it with a quorum of the backup's shares, which applies it:
        </p>
        <pre class="command">
          <code>{"breakglass backup restore FILE\nbreakglass operator unseal"}</code>
        </pre>
        <p class="hint">
          <code>breakglass audit public-key</code> prints the public key to verify against; scheduled backups
          to a directory are set with <code>backup_dir</code> in the server's configuration.
        </p>
      </section>
    </Page>
  );
}

import { useState } from "preact/hooks";
import { call, messageOf } from "../../api.js";
import { ErrorNotice, Page } from "../../components/page.js";

/** Saves `blob` as a download named `fileName`, as a link with `download` would. */
function save(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  link.click();
  // Not at once: the browser reads the blob after the click returns. A minute is plenty.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * Backups: GET /v1/sys/backup fetched by the page, so that a refusal (not an admin, sealed) is
 * said here rather than saved as a file; a backup is then saved as a download. Verifying and
 * restoring are CLI work: a restore needs an uninitialised server.
 */
export function Backups(_props: { params: Record<string, string> }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const download = async () => {
    setBusy(true);
    setError(null);
    setSaved(null);
    try {
      const fileName = `breakglass-${new Date().toISOString().slice(0, 10)}.bgbackup`;
      const answer = await call<Blob>("GET", "/v1/sys/backup", undefined, { blob: true });
      save(answer.body, fileName);
      setSaved(`Saved ${fileName} to your downloads.`);
    } catch (failure) {
      setError(`No backup: ${messageOf(failure)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Page title="Backups">
      <section aria-labelledby="backup-download-heading">
        <h2 id="backup-download-heading">Make a backup now</h2>
        <p>
          <button type="button" class="button" disabled={busy} onClick={() => void download()}>
            {busy ? "Making a backup…" : "Download a backup"}
          </button>
        </p>
        <ErrorNotice error={error} />
        <p role="status">{saved}</p>
        <p class="hint">Making a backup goes on the audit log. Only admins may make one.</p>
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

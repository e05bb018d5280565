import { approvalSummary, type CredentialEntry, readersSummary } from "../credentials.js";

/** Whose account it is, who may read it and what approval reading takes. */
export function CredentialFacts({ info }: { info: CredentialEntry }) {
  return (
    <dl class="facts">
      {info.issuer ? (
        <>
          <dt>Issuer</dt>
          <dd>{info.issuer}</dd>
        </>
      ) : null}
      {info.account_name ? (
        <>
          <dt>Account</dt>
          <dd>{info.account_name}</dd>
        </>
      ) : null}
      <dt>Who may read</dt>
      <dd>{readersSummary(info)}</dd>
      <dt>Approval</dt>
      <dd>{approvalSummary(info)}</dd>
    </dl>
  );
}

import { ErrorNotice, Loading } from "../components/page.js";
import { InitForm } from "./seal/init-form.js";
import { IssuedKeys } from "./seal/issued-keys.js";
import { UnsealForm } from "./seal/unseal-form.js";
import { useSealStatus } from "./seal/use-seal-status.js";

/** Before anything else: initialise (once, ever), then unseal with a quorum of custodians' shares. */
export function SealScreen(props: { onUnsealed: () => void }) {
  const { onUnsealed } = props;
  const seal = useSealStatus(onUnsealed);
  const { status, error } = seal;

  const warning = status?.custody_warning ? (
    <p class="notice notice-warning" role="note">
      <strong>Bus factor:</strong> {status.custody_warning}
    </p>
  ) : null;

  if (seal.issued) return <IssuedKeys issued={seal.issued} onHandedOut={seal.handedOut} />;
  if (status === null) return error ? <ErrorNotice error={error} /> : <Loading />;
  if (!status.initialized) return <InitForm onInitialised={seal.initialised} />;
  return (
    <UnsealForm
      status={status}
      warning={warning}
      onStatus={seal.setStatus}
      onUnsealed={onUnsealed}
      error={error}
    />
  );
}

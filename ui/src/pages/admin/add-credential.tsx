import { useEffect, useRef, useState } from "preact/hooks";
import { call } from "../../api.js";
import { RadioGroup, TextArea } from "../../components/admin/fields.js";
import { Outcome, useAction } from "../../components/admin/outcome.js";
import {
  type QrImage,
  QrImageInput,
  readQrImage,
  usePastedImage,
} from "../../components/admin/qr-image-input.js";
import { ShownOnce } from "../../components/admin/shown-once.js";
import { Field, SelectField } from "../../components/field.js";
import { ErrorNotice, Page } from "../../components/page.js";
import { href } from "../../router.js";

/**
 * Adds a credential (POST /v1/totp/keys/:name) from an otpauth URI, an image of its QR code, a
 * plain base32 secret (as the CLI's --secret), or a seed the server generates. The seed passes through this page's state only until the server has
 * it; a generated one comes back once, as a QR code and URL, until Done.
 */

type Source = "uri" | "qr" | "secret" | "generate";

interface Enrolment {
  name: string;
  url: string;
  barcode: string;
}

const SOURCES = [
  { value: "uri", label: "otpauth URI" },
  { value: "qr", label: "QR image" },
  { value: "secret", label: "Secret (base32)" },
  { value: "generate", label: "Generate" },
];

export function AddCredential(_props: { params: Record<string, string> }) {
  const [name, setName] = useState("");
  const [source, setSource] = useState<Source>("uri");
  const [uri, setUri] = useState("");
  const [secret, setSecret] = useState("");
  const [image, setImage] = useState<QrImage | null>(null);
  const [issuer, setIssuer] = useState("");
  const [account, setAccount] = useState("");
  const [algorithm, setAlgorithm] = useState("SHA1");
  const [digits, setDigits] = useState("6");
  const [period, setPeriod] = useState("30");
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const action = useAction();
  const nameInput = useRef<HTMLInputElement>(null);
  const [imageError, setImageError] = useState<string | null>(null);

  // A dropped or replaced image lets go of its preview.
  useEffect(() => () => image && URL.revokeObjectURL(image.previewUrl), [image]);

  const takeImage = (file: File, description: string) => {
    setSource("qr");
    setImageError(null);
    readQrImage(file, description).then(setImage, (failure: Error) => setImageError(failure.message));
  };
  usePastedImage((file) => takeImage(file, "pasted image"));

  const bodyFor = (): Record<string, unknown> => {
    if (source === "uri") return { url: uri.trim() };
    if (source === "qr") {
      if (!image) throw new Error("choose or paste an image of the QR code first");
      return { qr_image: image.base64 };
    }
    return {
      ...(source === "secret" ? { key: secret } : { generate: true }),
      issuer: issuer.trim(),
      account_name: account.trim(),
      algorithm,
      digits: Number(digits),
      period: Number(period),
    };
  };

  const submit = (event: Event) => {
    event.preventDefault();
    void action.run(async () => {
      const added = name.trim();
      const answer = await call<{ data?: { url: string; barcode: string } } | null>(
        "POST",
        `/v1/totp/keys/${encodeURIComponent(added)}`,
        bodyFor(),
      );
      // The seed is with the server now: nothing of it stays here but a generated one's QR, until Done.
      setUri("");
      setSecret("");
      setImage(null);
      setName("");
      setIssuer("");
      setAccount("");
      const given = answer.body?.data;
      if (given?.url) setEnrolment({ name: added, url: given.url, barcode: given.barcode });
      return (
        <>
          Added <a {...href(`/credentials/${encodeURIComponent(added)}`)}>{added}</a>.
        </>
      );
    });
  };

  return (
    <Page title="Add a credential">
      {enrolment ? (
        <ShownOnce
          title={`Enrol ${enrolment.name}`}
          warning="Scan it now: it will never be shown again."
          onDone={() => {
            setEnrolment(null);
            nameInput.current?.focus(); // the next credential, rather than the top of the page
          }}
        >
          {enrolment.barcode ? (
            <img
              class="enrolment-qr"
              src={`data:image/png;base64,${enrolment.barcode}`}
              alt={`QR code to enrol ${enrolment.name} in the account's MFA settings`}
            />
          ) : null}
          <p class="hint">Or type this URL into the authenticator being enrolled:</p>
          <p>
            <code class="secret">{enrolment.url}</code>
          </p>
        </ShownOnce>
      ) : null}
      <form class="admin-form" onSubmit={submit}>
        <Field
          label="Name"
          inputRef={nameInput}
          value={name}
          onValue={setName}
          required
          autoComplete="off"
          spellcheck={false}
          hint="How people will find it: aws-prod-root, registrar. Letters, digits, '.', '_' and '-'."
        />
        <RadioGroup
          legend="Where the seed comes from"
          options={SOURCES}
          value={source}
          onValue={(value) => setSource(value as Source)}
        />
        {source === "uri" ? (
          <TextArea
            label="otpauth:// URI"
            value={uri}
            onValue={setUri}
            rows={3}
            placeholder="otpauth://totp/Issuer:account?secret=…&issuer=Issuer"
            hint="The link behind the QR code the account showed when setting up MFA."
          />
        ) : null}
        {source === "qr" ? (
          <>
            <QrImageInput image={image} onFile={(file) => takeImage(file, file.name)} />
            <ErrorNotice error={imageError} />
          </>
        ) : null}
        {source === "secret" ? (
          <Field
            label="Secret (base32)"
            value={secret}
            onValue={setSecret}
            required
            autoComplete="off"
            spellcheck={false}
            hint="The key the account showed beside its QR code. Spaces and lower case are fine."
          />
        ) : null}
        {source === "generate" ? (
          <p class="hint">
            breakglass makes the seed and shows its QR code once, to scan into the account's MFA settings.
          </p>
        ) : null}
        {source === "secret" || source === "generate" ? (
          <>
            <div class="field-row">
              <Field
                label="Issuer"
                value={issuer}
                onValue={setIssuer}
                required={source === "generate"}
                hint="The service: AWS, Bank"
              />
              <Field
                label="Account name"
                value={account}
                onValue={setAccount}
                required={source === "generate"}
                hint="The login: root, treasury"
              />
            </div>
            <div class="field-row">
              <SelectField
                label="Algorithm"
                value={algorithm}
                onValue={setAlgorithm}
                options={[
                  { value: "SHA1", label: "SHA1 (most services)" },
                  { value: "SHA256", label: "SHA256" },
                  { value: "SHA512", label: "SHA512" },
                ]}
              />
              <SelectField
                label="Digits"
                value={digits}
                onValue={setDigits}
                options={[
                  { value: "6", label: "6" },
                  { value: "8", label: "8" },
                ]}
              />
              <Field label="Period (seconds)" type="number" value={period} onValue={setPeriod} min={1} />
            </div>
          </>
        ) : null}
        <div class="actions">
          <button type="submit" class="button" disabled={action.busy}>
            Add credential
          </button>
        </div>
        <Outcome action={action} />
      </form>
    </Page>
  );
}

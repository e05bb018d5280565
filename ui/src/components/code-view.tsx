import type { Ref } from "preact";
import { useEffect, useState } from "preact/hooks";

/** "123 456", "1234 5678": two groups, easier to read aloud and to type. */
export function groupDigits(code: string): string {
  if (code.length < 6) return code;
  const half = Math.floor(code.length / 2);
  return `${code.slice(0, half)} ${code.slice(half)}`;
}

/** Copies `what` to the clipboard; `said` is what to announce ("Copied"), cleared after a while. */
export function useCopier(what = "code"): { said: string; copy(text: string): void } {
  const [said, setSaid] = useState("");
  useEffect(() => {
    if (!said) return;
    const timer = setTimeout(() => setSaid(""), 2500);
    return () => clearTimeout(timer);
  }, [said]);
  const copy = (text: string) => {
    setSaid("");
    navigator.clipboard.writeText(text).then(
      () => setSaid("Copied"),
      () => setSaid(`Could not copy: select the ${what} and copy it by hand`),
    );
  };
  return { said, copy };
}

/** A TOTP code, large, in two groups, with tabular digits; clicking it copies it. */
export function CodeView(props: {
  code: string;
  label: string;
  testId: string;
  secondary?: boolean;
  onCopy: (code: string) => void;
}) {
  return (
    <div class={props.secondary ? "code-view code-view-next" : "code-view"}>
      <p class="code-label">{props.label}</p>
      <button
        type="button"
        class="code code-copy"
        title="Click to copy"
        aria-label={`${props.label}: ${groupDigits(props.code)}, click to copy`}
        onClick={() => props.onCopy(props.code)}
      >
        <span data-testid={props.testId}>{groupDigits(props.code)}</span>
      </button>
    </div>
  );
}

/** A button that copies `text`; what came of it is announced by the caller's live region. */
export function CopyButton(props: {
  text: string;
  label?: string;
  buttonRef?: Ref<HTMLButtonElement>;
  onCopy: (text: string) => void;
}) {
  return (
    <button type="button" class="button" ref={props.buttonRef} onClick={() => props.onCopy(props.text)}>
      {props.label ?? "Copy code"}
    </button>
  );
}

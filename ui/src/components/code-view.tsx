import type { Ref } from "preact";
import { useEffect, useState } from "preact/hooks";

/** "123 456", "1234 5678": two groups, easier to read aloud and to type. */
export function groupDigits(code: string): string {
  if (code.length < 6) return code;
  const half = Math.floor(code.length / 2);
  return `${code.slice(0, half)} ${code.slice(half)}`;
}

/** A TOTP code, large, in two groups, with tabular digits. */
export function CodeView(props: { code: string; label: string; testId: string; secondary?: boolean }) {
  return (
    <div class={props.secondary ? "code-view code-view-next" : "code-view"}>
      <p class="code-label">{props.label}</p>
      <p class="code" data-testid={props.testId}>
        {groupDigits(props.code)}
      </p>
    </div>
  );
}

/** Copies `text` to the clipboard and says so in a live region. */
export function CopyButton(props: { text: string; label?: string; buttonRef?: Ref<HTMLButtonElement> }) {
  const [said, setSaid] = useState("");
  useEffect(() => {
    if (!said) return;
    const timer = setTimeout(() => setSaid(""), 2500);
    return () => clearTimeout(timer);
  }, [said]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.text);
      setSaid("Copied");
    } catch {
      setSaid("Could not copy: select the code and copy it by hand");
    }
  };
  return (
    <span class="copy">
      <button type="button" class="button" ref={props.buttonRef} onClick={() => void copy()}>
        {props.label ?? "Copy code"}
      </button>
      <span class="copy-status" role="status">
        {said}
      </span>
    </span>
  );
}

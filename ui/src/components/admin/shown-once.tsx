import type { ComponentChildren } from "preact";
import { useEffect, useId, useRef } from "preact/hooks";

/**
 * Something the server gives out once (an enrolment QR code, a webhook secret): a warning, the
 * thing, and Done, which forgets it. The heading takes the focus so that nobody misses it.
 */
export function ShownOnce(props: {
  title: string;
  warning: string;
  children: ComponentChildren;
  onDone: () => void;
}) {
  const id = useId();
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  return (
    <section class="notice notice-warning shown-once" aria-labelledby={id}>
      <h2 id={id} ref={heading} tabIndex={-1}>
        {props.title}
      </h2>
      <p>
        <strong>{props.warning}</strong>
      </p>
      {props.children}
      <button type="button" class="button" onClick={props.onDone}>
        Done
      </button>
    </section>
  );
}

import type { ComponentChildren } from "preact";

/** A screen: its heading (focused on arrival, for screen readers) and its content. */
export function Page(props: { title: string; actions?: ComponentChildren; children: ComponentChildren }) {
  return (
    <section class="page" aria-labelledby="page-title">
      <header class="page-header">
        <h1 id="page-title" tabIndex={-1}>
          {props.title}
        </h1>
        {props.actions ? <div class="page-actions">{props.actions}</div> : null}
      </header>
      {props.children}
    </section>
  );
}

/** A problem to show: the server's own sentence. */
export function ErrorNotice(props: { error: string | null }) {
  if (!props.error) return null;
  return (
    <p class="notice notice-error" role="alert">
      {props.error}
    </p>
  );
}

export function Loading() {
  return (
    <p class="muted" aria-live="polite">
      Loading…
    </p>
  );
}

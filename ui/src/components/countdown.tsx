import { useEffect, useState } from "preact/hooks";

/**
 * Seconds left until `expiresAt` (unix seconds) by the server's clock, i.e. the local clock plus
 * `offsetMs`; re-rendered every 250 ms. Computed at render, so a new `expiresAt` counts at once.
 */
export function useSecondsLeft(expiresAt: number | null, offsetMs: number): number | null {
  const [, setTick] = useState(0);
  useEffect(() => {
    if (expiresAt === null) return;
    const timer = setInterval(() => setTick((tick) => tick + 1), 250);
    return () => clearInterval(timer);
  }, [expiresAt]);
  return expiresAt === null ? null : expiresAt - (Date.now() + offsetMs) / 1000;
}

const RADIUS = 20;
const CIRCUMFERENCE = 2 * Math.PI * RADIUS;
/** At or under this many seconds the ring turns to the warning colour: too late to type the code. */
const LOW_SECONDS = 5;

/** A ring that empties as the code's step runs out, and the whole seconds left. */
export function Countdown(props: { secondsLeft: number; period: number; expiresAt: number }) {
  const left = Math.max(0, props.secondsLeft);
  const whole = Math.ceil(left);
  const fraction = Math.min(1, left / props.period);
  return (
    <div class={whole <= LOW_SECONDS ? "countdown countdown-low" : "countdown"}>
      <svg
        class="countdown-ring"
        viewBox="0 0 48 48"
        width="48"
        height="48"
        aria-hidden="true"
        focusable="false"
      >
        <circle class="countdown-track" cx="24" cy="24" r={RADIUS} />
        <circle
          class="countdown-progress"
          cx="24"
          cy="24"
          r={RADIUS}
          stroke-dasharray={CIRCUMFERENCE.toFixed(2)}
          stroke-dashoffset={(CIRCUMFERENCE * (1 - fraction)).toFixed(2)}
          transform="rotate(-90 24 24)"
        />
      </svg>
      <p class="countdown-text">
        <span data-testid="countdown" data-expires-at={props.expiresAt}>
          {whole}
        </span>{" "}
        s left
      </p>
    </div>
  );
}

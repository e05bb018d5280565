import { useEffect, useState } from "preact/hooks";

type Theme = "light" | "dark" | "system";
const KEY = "breakglass-theme"; // a preference, not a secret: the only thing the UI keeps in the browser

/** Light, dark, or the system's choice; applied as `data-theme` on <html> for the CSS variables. */
export function ThemeToggle() {
  const [theme, setTheme] = useState<Theme>(() => (localStorage.getItem(KEY) as Theme | null) ?? "system");
  useEffect(() => {
    if (theme === "system") {
      document.documentElement.removeAttribute("data-theme");
      localStorage.removeItem(KEY);
    } else {
      document.documentElement.dataset.theme = theme;
      localStorage.setItem(KEY, theme);
    }
  }, [theme]);
  const next: Record<Theme, Theme> = { system: "light", light: "dark", dark: "system" };
  return (
    <button
      type="button"
      class="button secondary"
      onClick={() => setTheme(next[theme])}
      aria-label={`Colour theme: ${theme}. Switch to ${next[theme]}`}
    >
      {theme === "system" ? "Auto" : theme === "light" ? "Light" : "Dark"}
    </button>
  );
}

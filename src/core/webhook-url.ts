/**
 * What is wrong with a URL we will POST to (an audit webhook, a notification webhook), or null.
 * URLs are listed back to admins, so they must not carry credentials.
 */
export function webhookUrlProblem(value: string, whereCredentialsGo: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "must be an http:// or https:// URL";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "must be an http:// or https:// URL";
  if (url.username || url.password)
    return `must not hold credentials (they would be listed): ${whereCredentialsGo}`;
  return value.length <= 2048 ? null : "must be at most 2048 characters";
}

import { call } from "../../api.js";

/** The names under a Vault-style LIST path (GET ?list=true); its 404 means there are none. */
export async function listNames(path: string): Promise<string[]> {
  const answer = await call<{ data?: { keys?: string[] } } | null>("GET", `${path}?list=true`, undefined, {
    accept: [404],
  });
  return answer.status === 404 ? [] : (answer.body?.data?.keys ?? []);
}

/** Every item under a LIST path, each read with its own GET. */
export async function readAll<T>(path: string): Promise<T[]> {
  const names = await listNames(path);
  return Promise.all(
    names.map(async (name) => {
      const answer = await call<{ data: T }>("GET", `${path}/${encodeURIComponent(name)}`);
      return answer.body.data;
    }),
  );
}

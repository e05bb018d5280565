/** API paths that carry a key name, escaped once here. */
export const totpKeyPath = (name: string) => `/v1/totp/keys/${encodeURIComponent(name)}`;
export const totpCodePath = (name: string) => `/v1/totp/code/${encodeURIComponent(name)}`;

/** A refusal to start that the CLI shows as a usage problem, not a crash. */
export class ServerConfigError extends Error {}

import { Argument, type Command } from "commander";
import type { PutUserBody } from "../../api/people.js";
import type { BreakglassClient } from "../client.js";
import { commaList, contextOf, listNames } from "../command-context.js";
import { CliError, emit, table, usageError } from "../output.js";
import { readSecret } from "../secret-input.js";

/** What the server shows of a user: never a password or its hash. */
interface UserData {
  username: string;
  policies: string[];
  token_policies: string[];
  groups: string[];
  display_name: string;
  email: string;
  created_at: string;
  updated_at: string;
  locked_until: string | null;
  disabled: boolean;
}

const userPath = (name: string) => `/v1/auth/userpass/users/${encodeURIComponent(name)}`;

const ROLES_HELP = "built-in: admin, operator, auditor, member, totp-reader, totp-admin, default";

export function registerUsers(program: Command): void {
  const users = program
    .command("users")
    .description("people who log in with a username and password (Vault's userpass), and their roles");
  registerPutUserBodys(users);
  registerUserQueries(users);
}

function registerPutUserBodys(users: Command): void {
  withUserFields(
    users
      .command("add")
      .description("create a user; the password is prompted without echo unless given")
      .argument("<name>", "the username: lower-case letters, digits, '.', '_' or '-'"),
  ).action(async (name: string, options, command: Command) => {
    checkPasswordOptions(options);
    const ctx = contextOf(command);
    // The server's write creates or updates; "add" must not quietly overwrite someone.
    if ((await fetchUser(ctx.client, name)) !== null)
      throw new CliError(`user ${name} already exists: change it with "breakglass users set ${name}"`);
    const fields = userFieldsOf(options);
    await checkGroupsExist(ctx.client, fields.groups); // before the password is typed, not after
    const body = { ...fields, password: await readNewPassword(options) };
    await ctx.client.call("POST", userPath(name), { body });
    emit(ctx, { username: name, created: true }, () => `User ${name} created.`);
  });

  withUserFields(
    users
      .command("set")
      .description("change a user: only what is given; a new password ends the user's tokens")
      .argument("<name>"),
  ).action(async (name: string, options, command: Command) => {
    checkPasswordOptions(options);
    const changes = userFieldsOf(options);
    const newPassword = options.password !== undefined || options.passwordPrompt;
    if (Object.keys(changes).length === 0 && !newPassword)
      throw usageError("nothing to change: give an option");
    const ctx = contextOf(command);
    const current = await fetchUser(ctx.client, name);
    if (current === null) throw new CliError(`no user named ${name}: create it with "breakglass users add"`);
    await checkGroupsExist(ctx.client, changes.groups);
    const body: PutUserBody = {
      policies: current.token_policies,
      groups: current.groups,
      display_name: current.display_name,
      email: current.email,
      ...changes,
      password: newPassword ? await readNewPassword(options) : undefined,
    };
    await ctx.client.call("POST", userPath(name), { body });
    emit(ctx, { username: name, updated: true }, () => `User ${name} updated.`);
  });

  users
    .command("delete")
    .description("delete a user; every token the user holds ends at once")
    .argument("<name>")
    .action(async (name: string, _options, command: Command) => {
      const ctx = contextOf(command);
      await ctx.client.call("DELETE", userPath(name));
      emit(
        ctx,
        { username: name, deleted: true },
        () => `User ${name} deleted; their tokens no longer work.`,
      );
    });

  users
    .command("reset-mfa")
    .description("reset a user's own second factor (lost or replaced): they may enrol a new one")
    .argument("<name>")
    .action(async (name: string, _options, command: Command) => {
      const ctx = contextOf(command);
      await ctx.client.call("DELETE", `${userPath(name)}/mfa`);
      emit(
        ctx,
        { username: name, second_factor: "none" },
        () => `Second factor of ${name} reset: they log in without one until they enrol a new one.`,
      );
    });

  users
    .command("sso")
    .description(
      "allow (on) or stop (off) a user's sign-in with the identity provider; their first sign-in binds their provider account",
    )
    .argument("<name>")
    .addArgument(new Argument("<on|off>").choices(["on", "off"]))
    .action(async (name: string, state: "on" | "off", _options, command: Command) => {
      const ctx = contextOf(command);
      await ctx.client.call("POST", userPath(name), { body: { sso: state === "on" } });
      emit(ctx, { username: name, sso: state === "on" }, () =>
        state === "on"
          ? `${name} may sign in with the identity provider.`
          : `${name} may no longer sign in with the identity provider.`,
      );
    });

  for (const [verb, disabled] of [
    ["block", true],
    ["unblock", false],
  ] as const)
    users
      .command(verb)
      .description(
        disabled
          ? "block a user at once: every token of theirs ends, and no login (password or SSO) succeeds until unblocked"
          : "let a blocked user log in again",
      )
      .argument("<name>")
      .action(async (name: string, _options, command: Command) => {
        const ctx = contextOf(command);
        await ctx.client.call("POST", userPath(name), { body: { disabled } });
        emit(ctx, { username: name, disabled }, () =>
          disabled ? `${name} is blocked: their tokens have ended.` : `${name} may log in again.`,
        );
      });
  users
    .command("reset-passkeys")
    .description("remove every passkey of a user (all lost): audited and told to the team (docs/passkeys.md)")
    .argument("<name>")
    .action(async (name: string, _options, command: Command) => {
      const ctx = contextOf(command);
      await ctx.client.call("DELETE", `${userPath(name)}/passkeys`);
      emit(
        ctx,
        { username: name, passkeys: 0 },
        () => `Passkeys of ${name} removed: they log in with their password and register new ones.`,
      );
    });
}

function registerUserQueries(users: Command): void {
  users
    .command("list")
    .description("list usernames")
    .action(async (_options, command: Command) => {
      const ctx = contextOf(command);
      const keys = await listNames(ctx.client, "/v1/auth/userpass/users");
      emit(ctx, { keys }, (data) => (data.keys.length > 0 ? data.keys : "No users."));
    });

  users
    .command("show")
    .description("a user's details, groups and roles (never the password)")
    .argument("<name>")
    .action(async (name: string, _options, command: Command) => {
      const ctx = contextOf(command);
      const user = await ctx.client.data<UserData>("GET", userPath(name));
      emit(ctx, user, (data) =>
        table([
          ["Username", data.username],
          ["Display name", data.display_name || "-"],
          ["Email", data.email || "-"],
          ["Policies", data.token_policies.join(", ") || "-"],
          ["Groups", data.groups.join(", ") || "-"],
          ["Created", data.created_at],
          ["Updated", data.updated_at],
          ...(data.locked_until ? [["Locked until", data.locked_until] as [string, string]] : []),
          ...(data.disabled
            ? [["Blocked", "yes: no login succeeds (breakglass users unblock)"] as [string, string]]
            : []),
        ]),
      );
    });
}

/** The options `users add` and `users set` share. */
function withUserFields(command: Command): Command {
  return command
    .option("--password [password]", "the password, or - for stdin; prompted without echo when no value")
    .option("--password-prompt", "prompt for the password without echo")
    .option("--policies <list>", `comma-separated roles (${ROLES_HELP}); "" for none`, commaList)
    .option("--groups <list>", 'comma-separated groups, exactly those the user is in; "" for none', commaList)
    .option("--display-name <name>", "the name shown for the user")
    .option("--email <address>", 'an e-mail address; "" for none');
}

function userFieldsOf(options: Record<string, unknown>): Omit<PutUserBody, "password"> {
  const fields = {
    policies: options.policies as string[] | undefined,
    groups: options.groups as string[] | undefined,
    display_name: options.displayName as string | undefined,
    email: options.email as string | undefined,
  };
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

interface PasswordOptions {
  password?: string | true;
  passwordPrompt?: boolean;
}

function checkPasswordOptions(options: PasswordOptions): void {
  if (typeof options.password === "string" && options.passwordPrompt)
    throw usageError("give --password or --password-prompt, not both");
}

/** From --password VALUE or -, else a prompt; typed twice when typed, since nobody can read it back. */
async function readNewPassword(options: PasswordOptions): Promise<string> {
  const source = typeof options.password === "string" ? options.password : undefined;
  const password = await readSecret(source, "password");
  const prompted = source === undefined && process.stdin.isTTY;
  if (prompted && (await readSecret(undefined, "password again")) !== password)
    throw new CliError("the two passwords differ");
  return password;
}

/** Groups must exist before a user is put in them; said with the command that makes one. */
async function checkGroupsExist(client: BreakglassClient, groups: string[] | undefined): Promise<void> {
  if (!groups?.length) return;
  const existing = new Set(await listNames(client, "/v1/groups"));
  const missing = groups.find((group) => !existing.has(group));
  if (missing !== undefined)
    throw new CliError(`no group named ${missing}: create it first with "breakglass groups set ${missing}"`);
}

/** A user, or null when there is none by that name. */
async function fetchUser(client: BreakglassClient, name: string): Promise<UserData | null> {
  const reply = await client.call("GET", userPath(name), { accept: [404] });
  return reply.status === 404 ? null : (reply.body as { data: UserData }).data;
}

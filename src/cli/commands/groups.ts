import type { Command } from "commander";
import type { PutGroupBody } from "../../api/people.js";
import { commaList, contextOf, listNames } from "../command-context.js";
import { emit, table, usageError } from "../output.js";

interface GroupData {
  name: string;
  members: string[];
  policies: string[];
  updated_at: string;
}

const groupPath = (name: string) => `/v1/groups/${encodeURIComponent(name)}`;

export function registerGroups(program: Command): void {
  const groups = program
    .command("groups")
    .description("groups of users: every member holds the group's roles");

  groups
    .command("set")
    .description("create a group (empty unless given members or roles) or change it: only what is given")
    .argument("<name>", "the group's name: lower-case letters, digits, '.', '_' or '-'")
    .option("--members <list>", 'comma-separated usernames, exactly the members; "" for none', commaList)
    .option("--policies <list>", 'comma-separated roles its members hold; "" for none', commaList)
    .action(async (name: string, options, command: Command) => {
      const ctx = contextOf(command);
      const reply = await ctx.client.call("GET", groupPath(name), { accept: [404] });
      const current = reply.status === 404 ? null : (reply.body as { data: GroupData }).data;
      if (current && options.members === undefined && options.policies === undefined)
        throw usageError(`group ${name} exists: give --members, --policies or both to change it`);
      const body = {
        members: options.members ?? current?.members ?? [],
        policies: options.policies ?? current?.policies ?? [],
      } satisfies PutGroupBody;
      await ctx.client.call("POST", groupPath(name), { body });
      emit(ctx, { name, ...body }, () => `Group ${name} ${current ? "updated" : "created"}.`);
    });

  groups
    .command("show")
    .description("a group's members and roles")
    .argument("<name>")
    .action(async (name: string, _options, command: Command) => {
      const ctx = contextOf(command);
      const group = await ctx.client.data<GroupData>("GET", groupPath(name));
      emit(ctx, group, (data) =>
        table([
          ["Name", data.name],
          ["Members", data.members.join(", ") || "-"],
          ["Policies", data.policies.join(", ") || "-"],
          ["Updated", data.updated_at],
        ]),
      );
    });

  groups
    .command("list")
    .description("list group names")
    .action(async (_options, command: Command) => {
      const ctx = contextOf(command);
      const keys = await listNames(ctx.client, "/v1/groups");
      emit(ctx, { keys }, (data) => (data.keys.length > 0 ? data.keys : "No groups."));
    });

  groups
    .command("delete")
    .description("delete a group; its members lose the roles it gave them")
    .argument("<name>")
    .action(async (name: string, _options, command: Command) => {
      const ctx = contextOf(command);
      await ctx.client.call("DELETE", groupPath(name));
      emit(ctx, { name, deleted: true }, () => `Group ${name} deleted.`);
    });
}

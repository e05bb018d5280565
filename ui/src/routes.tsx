import type { FunctionComponent } from "preact";
import { AccessRules } from "./pages/admin/access.js";
import { AddCredential } from "./pages/admin/add-credential.js";
import { Backups } from "./pages/admin/backups.js";
import { Custody } from "./pages/admin/custody.js";
import { Devices } from "./pages/admin/devices.js";
import { Notifications } from "./pages/admin/notifications.js";
import { People } from "./pages/admin/people.js";
import { Approvals } from "./pages/approvals.js";
import { Audit } from "./pages/audit.js";
import { Credential } from "./pages/credential.js";
import { Credentials } from "./pages/credentials.js";
import { Passkeys } from "./pages/passkeys.js";
import { APPROVALS_PATH } from "./pending-approvals.js";

export interface Route {
  path: string;
  title: string;
  page: FunctionComponent<{ params: Record<string, string> }>;
  /** Shown in the navigation to sessions holding one of these roles (root and admin see all); omitted: not in the navigation. */
  nav?: readonly string[];
  /** The navigation group. */
  section?: "main" | "admin";
}

const EVERYONE = ["default"];

/** Every screen after sign-in, in navigation order. The seal and login screens come before these. */
export const ROUTES: Route[] = [
  { path: "/", title: "Credentials", page: Credentials, nav: EVERYONE, section: "main" },
  { path: "/credentials/:name", title: "Credential", page: Credential },
  { path: APPROVALS_PATH, title: "Approvals", page: Approvals, nav: EVERYONE, section: "main" },
  { path: "/passkeys", title: "Passkeys", page: Passkeys, nav: EVERYONE, section: "main" },
  { path: "/audit", title: "Audit log", page: Audit, nav: ["auditor"], section: "main" },
  {
    path: "/admin/credentials/new",
    title: "Add a credential",
    page: AddCredential,
    nav: [],
    section: "admin",
  },
  { path: "/admin/people", title: "People and groups", page: People, nav: [], section: "admin" },
  { path: "/admin/access", title: "Access rules", page: AccessRules, nav: [], section: "admin" },
  { path: "/admin/notifications", title: "Notifications", page: Notifications, nav: [], section: "admin" },
  {
    path: "/admin/custody",
    title: "Custodians",
    page: Custody,
    nav: ["operator", "auditor"],
    section: "admin",
  },
  { path: "/admin/backups", title: "Backups", page: Backups, nav: [], section: "admin" },
  {
    path: "/admin/devices",
    title: "Devices and coverage",
    page: Devices,
    nav: ["operator", "auditor"],
    section: "admin",
  },
];

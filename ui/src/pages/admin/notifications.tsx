import { SmtpSettings } from "../../components/admin/smtp-form.js";
import { Webhooks } from "../../components/admin/webhooks.js";
import { Page } from "../../components/page.js";

/** Where breakglass tells the team what happens: webhooks and e-mail. They never hold up a read. */
export function Notifications(_props: { params: Record<string, string> }) {
  return (
    <Page title="Notifications">
      <p class="hint">
        Reads, approval requests and decisions, seal and unseal, lockouts, custody and devices are sent to
        these channels. A credential's access rule can name channels that get its reads whatever their filter.
      </p>
      <Webhooks />
      <SmtpSettings />
    </Page>
  );
}

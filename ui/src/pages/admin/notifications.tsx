import { Deliveries } from "../../components/admin/deliveries.js";
import { SmtpSettings } from "../../components/admin/smtp-form.js";
import { Webhooks } from "../../components/admin/webhooks.js";
import { Page } from "../../components/page.js";

/**
 * Where breakglass tells the team what happens: webhooks and e-mail. They never hold up a read;
 * what could not be delivered waits as a dead letter until redriven.
 */
export function Notifications(_props: { params: Record<string, string> }) {
  return (
    <Page title="Notifications">
      <p class="hint">
        Reads, approval requests and decisions, seal and unseal, lockouts, custody and devices are sent to
        these channels. A credential's access rule can name channels that get its reads whatever their filter.
      </p>
      <Webhooks />
      <SmtpSettings />
      <Deliveries base="/v1/notify" />
    </Page>
  );
}

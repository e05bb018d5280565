/** Physical MFA devices and the coverage report as the API shows them (devices/*, coverage): src/api's contract. */

export type { Device, DueReason } from "../../../../src/api/devices.js";
export { DEVICE_KINDS, DEVICE_STATUSES } from "../../../../src/core/devices.js";

// Worker thread that decodes one uploaded image and reads its QR code (qr-reader.ts starts one per
// image, with a memory and a time limit), so a large picture never blocks the server's event
// loop. Plain CommonJS so that it runs unchanged from src/ (tests) and dist/ (the built server).
const { parentPort, workerData } = require("node:worker_threads");
const { decodeQrText, QrImageRefusal } = require("../core/qr-decode.cjs");

try {
  parentPort.postMessage({ text: decodeQrText(workerData.image, workerData.kind, workerData.limits) });
} catch (error) {
  // A refusal is the caller's bad input; anything else is the decoder failing on bytes it took.
  const refused = error instanceof QrImageRefusal;
  parentPort.postMessage({ refusal: refused ? error.message : "the image could not be decoded" });
}

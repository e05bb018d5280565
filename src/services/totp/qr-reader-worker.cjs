// Worker thread that decodes uploaded images and reads their QR codes, one at a time, so that a
// large picture never blocks the server's event loop (qr-reader.ts starts it with a memory limit,
// and stops it when a decode takes too long). Plain CommonJS so that it runs unchanged from src/
// (tests) and dist/ (the built server).
const { parentPort, workerData } = require("node:worker_threads");
const { decodeQrText, QrImageRefusal } = require("../../core/qr-decode.cjs");

parentPort.on("message", ({ image, kind }) => {
  try {
    parentPort.postMessage({ text: decodeQrText(image, kind, workerData.limits) });
  } catch (error) {
    // A refusal is the caller's bad input; anything else is the decoder failing on bytes it took.
    const refused = error instanceof QrImageRefusal;
    parentPort.postMessage({ refusal: refused ? error.message : "the image could not be decoded" });
  }
});

import { useEffect, useId, useRef } from "preact/hooks";

/** An image of a QR code, read for the server (`qr_image`) and shown back as a preview. */
export interface QrImage {
  base64: string;
  /** A blob: URL of the image (the CSP allows blob: images); revoked when the image is dropped. */
  previewUrl: string;
  description: string;
}

const IMAGE_TYPES = ["image/png", "image/jpeg"];

/** Reads a PNG or JPEG as base64 (without the data: prefix). */
export function readQrImage(file: File, description: string): Promise<QrImage> {
  if (!IMAGE_TYPES.includes(file.type))
    return Promise.reject(new Error("the QR code image must be a PNG or JPEG"));
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onerror = () => reject(new Error("the image could not be read"));
    reader.onload = () => {
      const dataUrl = String(reader.result);
      resolve({
        base64: dataUrl.slice(dataUrl.indexOf(",") + 1),
        previewUrl: URL.createObjectURL(file),
        description,
      });
    };
    reader.readAsDataURL(file);
  });
}

/** Calls `onFile` with an image pasted anywhere on the page (Ctrl+V, ⌘V); other pastes go on as usual. */
export function usePastedImage(onFile: (file: File) => void): void {
  const latest = useRef(onFile);
  latest.current = onFile;
  useEffect(() => {
    const paste = (event: ClipboardEvent) => {
      const item = [...(event.clipboardData?.items ?? [])].find(
        (i) => i.kind === "file" && IMAGE_TYPES.includes(i.type),
      );
      const file = item?.getAsFile();
      if (!file) return;
      event.preventDefault();
      latest.current(file);
    };
    document.addEventListener("paste", paste);
    return () => document.removeEventListener("paste", paste);
  }, []);
}

/** The file input labelled "QR code image", the paste hint, and a preview of the image chosen. */
export function QrImageInput(props: { image: QrImage | null; onFile: (file: File) => void }) {
  const id = useId();
  const input = useRef<HTMLInputElement>(null);
  // The input keeps its file on its own: empty it when the image is dropped (after a submit).
  useEffect(() => {
    if (!props.image && input.current) input.current.value = "";
  }, [props.image]);
  return (
    <div class="field">
      <label htmlFor={id}>QR code image</label>
      <input
        id={id}
        ref={input}
        type="file"
        accept="image/png,image/jpeg"
        aria-describedby={`${id}-hint`}
        onChange={(event) => {
          const file = event.currentTarget.files?.[0];
          if (file) props.onFile(file);
        }}
      />
      <p class="hint" id={`${id}-hint`}>
        A PNG or JPEG screenshot of the QR code. Or copy the image and paste it anywhere on this page with
        Ctrl+V (⌘V on a Mac).
      </p>
      {props.image ? (
        <figure class="qr-preview">
          <img src={props.image.previewUrl} alt={`The QR code to add (${props.image.description})`} />
          <figcaption class="hint">{props.image.description}</figcaption>
        </figure>
      ) : null}
    </div>
  );
}

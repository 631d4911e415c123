import type { FileText } from './file-text.js';

/** The part of pdfjs-dist this reader uses (typed here: the package is an optional dependency). */
interface PdfJs {
  getDocument(src: {
    data: Uint8Array;
    verbosity: number;
    isEvalSupported: boolean;
    disableFontFace: boolean;
    useSystemFonts: boolean;
  }): { promise: Promise<PdfDocument> };
}
interface PdfDocument {
  numPages: number;
  getMetadata(): Promise<{ info?: { Title?: unknown } }>;
  getPage(n: number): Promise<{
    getTextContent(): Promise<{ items: { str?: string; hasEOL?: boolean }[] }>;
  }>;
  destroy(): Promise<void>;
}

/** The package that reads PDFs; installed by the user when they want PDFs read. */
export const PDF_PACKAGE = 'pdfjs-dist';
// Not a literal import: the CLI builds and runs without the package.
const PDF_MODULE = `${PDF_PACKAGE}/legacy/build/pdf.mjs`;

let loaded: Promise<PdfJs | undefined> | undefined;

/** pdfjs-dist, or undefined when it is not installed. */
export function loadPdfJs(): Promise<PdfJs | undefined> {
  loaded ??= (import(PDF_MODULE) as Promise<PdfJs>).catch(() => undefined);
  return loaded;
}

/**
 * The text layer of a PDF (pdfjs-dist, Mozilla's PDF reader): each page's
 * text in reading order, lines kept, pages separated by a blank line; the
 * title from the document's metadata, else its first line. A PDF with no
 * text layer (a scan) or one that cannot be opened (damaged, encrypted) is
 * skipped with the reason.
 */
export async function pdfText(
  pdfjs: PdfJs,
  path: string,
  bytes: Buffer,
): Promise<FileText | { skip: string }> {
  let doc: PdfDocument;
  try {
    doc = await pdfjs.getDocument({
      data: new Uint8Array(bytes),
      verbosity: 0,
      isEvalSupported: false,
      disableFontFace: true,
      useSystemFonts: false,
    }).promise;
  } catch (e) {
    const name = (e as Error).name;
    return {
      skip:
        name === 'PasswordException'
          ? 'encrypted PDF (it needs a password)'
          : `not a readable PDF: ${(e as Error).message}`,
    };
  }
  try {
    const pages: string[] = [];
    for (let p = 1; p <= doc.numPages; p++) {
      const content = await (await doc.getPage(p)).getTextContent();
      pages.push(
        content.items
          .map((i) => `${i.str ?? ''}${i.hasEOL ? '\n' : ''}`)
          .join('')
          .trim(),
      );
    }
    const text = pages.filter((p) => p !== '').join('\n\n');
    if (text.trim() === '')
      return { skip: 'PDF without a text layer (a scan?): run OCR on it to index it' };
    const meta = await doc.getMetadata().catch(() => ({ info: undefined }));
    const metaTitle = typeof meta.info?.Title === 'string' ? meta.info.Title.trim() : '';
    const firstLine = text.split('\n').find((l) => l.trim() !== '') ?? path;
    return { text, title: (metaTitle || firstLine.trim() || path).slice(0, 200) };
  } catch (e) {
    return { skip: `not a readable PDF: ${(e as Error).message}` };
  } finally {
    await doc.destroy().catch(() => undefined);
  }
}

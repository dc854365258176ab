/* Internal to the PDF units: the document seal. afl_pdf_firma_prepare
 * checks a document's firma and completes it from the key; afl_pdf_doc_save
 * adds the seal dictionary (afl_pdf_seal_dict) and signs the saved file in
 * place (afl_pdf_seal_patch). Reading it back is afl_pdf_extract and
 * afl_pdf_verify (afl_pdf.h), in afl_pdf_seal.c too. */
#ifndef AFL_PDF_SEAL_H
#define AFL_PDF_SEAL_H

#include <stddef.h>

#include "afl_pdf_draw.h"

void afl_pdf_firma_prepare(doc_t *d, const afl_pdf_firma *f, const char *tipo, const char *folio);
void afl_pdf_seal_dict(doc_t *d);
void afl_pdf_seal_patch(doc_t *d, unsigned char *buf, size_t len);

#endif

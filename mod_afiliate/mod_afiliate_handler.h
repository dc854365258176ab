/* mod_afiliate: request handling (httpd glue). */
#ifndef MOD_AFILIATE_HANDLER_H
#define MOD_AFILIATE_HANDLER_H

#include "httpd.h"

int afl_handler(request_rec *r);
int afl_handler_check_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s);
void afl_handler_child_init(apr_pool_t *pchild, server_rec *s);

#endif

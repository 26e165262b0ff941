/* municipalities: the region's municipalities (CBS codes), public reference data that forms
 * and filters need before anyone has logged in. */
#include <stdlib.h>

#include "handlers.h"

static int municipalities_prepare(struct app *app)
{
    return api_prepare(app, "municipalities_list",
                       "SELECT code, name, province, lat, lon FROM municipalities ORDER BY name");
}

static void municipalities_rows(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK) {
        api_reply_db_error(c, r);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(o, "municipalities");
    for (int i = 0; i < PQntuples(r->res); i++) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "code", db_value(r->res, i, 0));
        cJSON_AddStringToObject(m, "name", db_value(r->res, i, 1));
        cJSON_AddStringToObject(m, "province", db_value(r->res, i, 2));
        if (!db_is_null(r->res, i, 3)) {
            cJSON_AddNumberToObject(m, "lat", atof(db_value(r->res, i, 3)));
            cJSON_AddNumberToObject(m, "lon", atof(db_value(r->res, i, 4)));
        }
        cJSON_AddItemToArray(list, m);
    }
    api_reply_json(c, 200, o);
}

static void municipalities_list(struct api_ctx *c)
{
    api_query(c, "municipalities_list", 0, NULL, municipalities_rows);
}

static const struct api_endpoint list = {municipalities_list, false};

/* Public reference data: a registration form needs it before anyone has an account. */
static const struct route municipality_routes[] = {
    {HTTP_GET, "/v1/municipalities", &list, 0},
};

ROUTE_GROUP(municipalities_group, municipality_routes, municipalities_prepare);

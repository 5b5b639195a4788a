#include "kafka/server/handlers/init_producer_id.h"

#include "kafka/server/broker.h"

#include <limits>

namespace chronik::kafka {

using protocol::error_code;

awaitable<init_producer_id_handler::api::response> init_producer_id_handler::handle(request_context& ctx,
                                                                                    api::request req) {
    broker& b = *ctx.owner;
    api::response resp;
    if (req.transactional_id && !req.transactional_id->empty()) {
        // No transaction coordinator yet: say so rather than hand out an id whose
        // transactions would not be honoured.
        resp.error_code = +error_code::coordinator_not_available;
        co_return resp;
    }
    if (req.producer_id >= 0 && req.producer_epoch >= 0 &&
        req.producer_epoch < std::numeric_limits<int16_t>::max()) {
        resp.producer_id = req.producer_id;
        resp.producer_epoch = int16_t(req.producer_epoch + 1);
        co_return resp;
    }
    cluster::topic_store* store = &b.topic_store_on_shard0();
    auto allocate = [store] { return store->allocate_producer_id(); };
    auto call = b.shards().invoke_on(0, std::move(allocate));
    int64_t id = co_await std::move(call);
    if (id < 0) {
        resp.error_code = +error_code::kafka_storage_error;
        co_return resp;
    }
    resp.producer_id = id;
    resp.producer_epoch = 0;
    co_return resp;
}

} // namespace chronik::kafka

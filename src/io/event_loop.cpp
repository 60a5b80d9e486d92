// Loop thread and cross-thread task queue (see event_loop.h). Only this file starts threads.
#include "io/event_loop.h"

#include <blip/blip.h>

#include <condition_variable>
#include <exception>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#include "io/uv_error.h"

namespace blip::io {

struct EventLoop::Tasks {
    uv_async_t async{};
    std::mutex mu;
    std::vector<std::function<void()>> queue;
    bool closed = false;  // no more tasks accepted (under mu)

    static void run(uv_async_t* a) noexcept {
        auto* self = static_cast<Tasks*>(a->data);
        std::vector<std::function<void()>> batch;
        {
            std::lock_guard<std::mutex> lock(self->mu);
            batch.swap(self->queue);
        }
        for (auto& fn : batch) {
            // Tasks are Blip's own noexcept work; this only keeps a bug from unwinding into
            // libuv's C frames.
            try {
                fn();
            } catch (...) {  // NOLINT(bugprone-empty-catch)
            }
        }
    }
    // Tasks that slipped in after the last run still run (their callers may be waiting in
    // call()); they find their objects closed and return at once.
    static void closed_cb(uv_handle_t* h) noexcept {
        auto* self = static_cast<Tasks*>(h->data);
        run(&self->async);
        delete self;
    }
};

int EventLoop::init(uv_loop_t* loop, std::string* err) {
    tasks_ = new (std::nothrow) Tasks;
    if (tasks_ == nullptr) return BLIP_ENOMEM;
    if (const int rc = uv_async_init(loop, &tasks_->async, &Tasks::run); rc != 0) {
        delete tasks_;
        tasks_ = nullptr;
        if (err != nullptr) *err = "uv_async_init: " + uv_error_text(rc);
        return map_uv_error(rc);
    }
    tasks_->async.data = tasks_;
    loop_ = loop;
    return BLIP_OK;
}

int EventLoop::start_thread(std::unique_ptr<EventLoop>* out, std::string* err) {
    std::unique_ptr<EventLoop> self(new (std::nothrow) EventLoop);
    if (!self) return BLIP_ENOMEM;
    self->owned_.reset(new (std::nothrow) uv_loop_t{});
    if (!self->owned_) return BLIP_ENOMEM;
    if (const int rc = uv_loop_init(self->owned_.get()); rc != 0) {
        self->owned_.reset();
        if (err != nullptr) *err = "uv_loop_init: " + uv_error_text(rc);
        return BLIP_EIO;
    }
    if (const int rc = self->init(self->owned_.get(), err); rc != 0) {
        uv_loop_close(self->owned_.get());
        self->owned_.reset();
        return rc;
    }
    try {
        uv_loop_t* loop = self->loop_;
        self->thread_ = std::thread([loop] { uv_run(loop, UV_RUN_DEFAULT); });
    } catch (const std::exception& e) {
        if (err != nullptr) *err = std::string("cannot start the loop thread: ") + e.what();
        // Nothing runs the loop: close the async handle and let a short run free it.
        uv_close(reinterpret_cast<uv_handle_t*>(&self->tasks_->async), &Tasks::closed_cb);
        uv_run(self->owned_.get(), UV_RUN_DEFAULT);
        uv_loop_close(self->owned_.get());
        self->owned_.reset();
        self->tasks_ = nullptr;
        self->stopped_ = true;
        return BLIP_EIO;
    }
    self->loop_thread_ = self->thread_.get_id();
    *out = std::move(self);
    return BLIP_OK;
}

int EventLoop::attach(uv_loop_t* loop, std::unique_ptr<EventLoop>* out, std::string* err) {
    if (loop == nullptr) return BLIP_EINVAL;
    std::unique_ptr<EventLoop> self(new (std::nothrow) EventLoop);
    if (!self) return BLIP_ENOMEM;
    if (const int rc = self->init(loop, err); rc != 0) return rc;
    self->loop_thread_ = std::this_thread::get_id();
    *out = std::move(self);
    return BLIP_OK;
}

EventLoop::~EventLoop() { stop(nullptr); }

bool EventLoop::post(std::function<void()> fn) {
    if (tasks_ == nullptr) return false;
    {
        std::lock_guard<std::mutex> lock(tasks_->mu);
        if (tasks_->closed) return false;
        tasks_->queue.push_back(std::move(fn));
    }
    uv_async_send(&tasks_->async);  // thread-safe; coalesces wake-ups
    return true;
}

bool EventLoop::call(const std::function<void()>& fn) {
    if (on_loop_thread()) {
        fn();
        return true;
    }
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    const bool posted = post([&] {
        fn();
        std::lock_guard<std::mutex> lock(mu);
        done = true;
        cv.notify_one();
    });
    if (!posted) return false;
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done; });
    return true;
}

void EventLoop::stop(const std::function<void()>& before_stop) {
    if (stopped_) return;
    stopped_ = true;
    Tasks* tasks = tasks_;
    const bool owns = owned_ != nullptr;
    auto finish = [tasks, owns, &before_stop] {
        if (before_stop) before_stop();
        {
            std::lock_guard<std::mutex> lock(tasks->mu);
            tasks->closed = true;
            // Embedded: the owners of queued tasks are freed as soon as stop() returns, before
            // the caller's loop runs the close callback, so their tasks must not run then.
            if (!owns) tasks->queue.clear();
        }
        // Tasks still queued are dropped with the handle; their owners are gone.
        uv_close(reinterpret_cast<uv_handle_t*>(&tasks->async), &Tasks::closed_cb);
    };
    if (owned_) {
        call(finish);
        // The loop returns once every handle (ours and the channels') has closed.
        if (thread_.joinable()) thread_.join();
        uv_loop_close(owned_.get());
        owned_.reset();
    } else {
        finish();
    }
    tasks_ = nullptr;
}

}  // namespace blip::io
